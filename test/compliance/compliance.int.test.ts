import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canonicalJson } from '@agf/compliance-domain';
import { type CloudEvent, createEvent, type DeploymentRequest } from '@agf/contracts';
import { aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { ensureConsumer, ensureStreams } from '@agf/messaging';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, TestNats } from '@agf/testing';

jest.setTimeout(120_000);

const AUDIT_VERIFY = join(__dirname, '..', '..', 'dist', 'tools', 'audit-verify', 'src', 'main.js');

interface Verification {
  valid: boolean;
  entries: number;
  firstBrokenEntry?: { sequence: number; reason: string };
}

describe('compliance service (real NATS and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let compliance: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    // The durable an earlier version read its own compliance.evaluated with: removed when the service starts.
    await ensureStreams(nats.jsm, nats.namespace);
    await ensureConsumer(nats.jsm, nats.namespace, { stream: 'AGF_COMPLIANCE', durable: 'compliance', maxDeliver: 5, ackWaitMs: 30_000, maxAckPending: 100 });
    compliance = await ServiceProcess.start('compliance', { databaseUrl: db.url, namespace: nats.namespace.prefix });
  });

  afterAll(async () => {
    await compliance?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  const verify = async (): Promise<Verification> => (await (await fetch(`${compliance.url}/v1/audit/verify`)).json()) as Verification;

  function completed(request: DeploymentRequest, assignmentId: string, expertId: string, expertType: 'security' | 'compliance', decision: 'approve' | 'reject') {
    return {
      requestId: request.requestId,
      projectId: request.projectId,
      assignmentId,
      expertId,
      expertType,
      expertKind: 'human' as const,
      decision,
      comments: 'checked',
      conditions: [],
      confidence: 0.9,
      completedAt: new Date().toISOString(),
    };
  }

  function assigned(request: DeploymentRequest, assignmentId: string, expertId: string, expertType: 'security' | 'compliance') {
    const now = new Date();
    return {
      requestId: request.requestId,
      projectId: request.projectId,
      assignmentId,
      expertId,
      expertType,
      expertKind: 'human' as const,
      role: 'standard' as const,
      scope: ['review'],
      tierLevel: 1 as const,
      priority: 'normal' as const,
      slaHours: 24,
      assignedAt: now.toISOString(),
      slaDueAt: new Date(now.getTime() + 86_400_000).toISOString(),
    };
  }

  async function evaluations(requestId: string): Promise<CloudEvent<'compliance.evaluated'>['data'][]> {
    const messages = await nats.read('AGF_COMPLIANCE', 'agf.v1.compliance.evaluated.>');
    return messages.map((m) => m.json<CloudEvent<'compliance.evaluated'>>().data).filter((e) => e.requestId === requestId);
  }

  it('evaluates SOC2, ISO 27001 and GDPR controls as the reviews come in', async () => {
    const request = aDeploymentRequest({ requester: 'dev-alice', riskIndicators: { touchesPersonalData: true, testsPassed: true } });
    const id = { correlationId: request.requestId };
    const securityReview = randomUUID();
    const complianceReview = randomUUID();
    await nats.publishEvent('review.assigned', assigned(request, securityReview, 'security_expert_human', 'security'), id);
    await nats.publishEvent('review.assigned', assigned(request, complianceReview, 'dpo_human', 'compliance'), id);
    // A review that overtakes the assessment is kept and counted once the request is known.
    await nats.publishEvent('review.completed', completed(request, securityReview, 'security_expert_human', 'security', 'approve'), id);
    await nats.publishEvent('risk.assessed', aRiskAssessment(request), id);
    // Streams are consumed independently: wait for the evaluation that saw the security review.
    const first = await eventually(async () => {
      const withReview = (await evaluations(request.requestId)).find((e) => e.basedOnAssignments.includes(securityReview));
      expect(withReview).toBeDefined();
      return withReview!;
    }, 20_000);
    const status = (e: typeof first, framework: string) => e.controls.find((c) => c.framework === framework)?.status;
    expect(status(first, 'SOC2')).toBe('pass');
    expect(status(first, 'ISO27001')).toBe('pass');
    expect(status(first, 'GDPR')).toBe('pending');
    expect(first).toMatchObject({ passed: false, pending: true, basedOnAssignments: [securityReview] });

    await nats.publishEvent('review.completed', completed(request, complianceReview, 'dpo_human', 'compliance', 'approve'), id);
    const last = await eventually(async () => {
      const withBoth = (await evaluations(request.requestId)).find((e) => e.basedOnAssignments.length === 2);
      expect(withBoth).toBeDefined();
      return withBoth!;
    }, 20_000);
    expect(last.passed).toBe(true);
    expect(new Set(last.basedOnAssignments)).toEqual(new Set([securityReview, complianceReview]));
  });

  it('does not count the requester approving their own change (SOC2 CC8.1)', async () => {
    const request = aDeploymentRequest({ requester: 'dev-bob' });
    const id = { correlationId: request.requestId };
    const selfReview = randomUUID();
    await nats.publishEvent('review.assigned', assigned(request, selfReview, 'dev-bob', 'security'), id);
    await nats.publishEvent('risk.assessed', aRiskAssessment(request), id);
    await nats.publishEvent('review.completed', completed(request, selfReview, 'dev-bob', 'security', 'approve'), id);
    const last = await eventually(async () => {
      const all = await evaluations(request.requestId);
      const withReview = all.find((e) => e.basedOnAssignments.includes(selfReview));
      expect(withReview).toBeDefined();
      return withReview!;
    }, 20_000);
    // Every assigned review is in and none is independent: the control fails rather than waiting forever.
    expect(last.controls.find((c) => c.framework === 'SOC2')).toMatchObject({ status: 'fail', reason: expect.stringMatching(/other than the requester dev-bob/) });
    expect(last.passed).toBe(false);
  });

  it('counts in /metrics only what committed: a redelivered risk.assessed evaluates once', async () => {
    const metric = async (name: string, labels = '') => {
      const text = await (await fetch(`${compliance.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
        .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    };
    // Earlier tests' events settle first, so that the differences below are this test's alone.
    const before = await eventually(async () => {
      const a = await metric('agf_compliance_evaluations_total');
      await new Promise((r) => setTimeout(r, 500));
      expect(await metric('agf_compliance_evaluations_total')).toBe(a);
      return { evaluations: a, duplicates: await metric('agf_messages_total', 'result="duplicate"') };
    }, 20_000);

    const request = aDeploymentRequest();
    const event = await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: request.requestId });
    // The same event under another Nats-Msg-Id: past JetStream's duplicate window, only the inbox knows it.
    await nats.publish(`agf.v1.risk.assessed.${request.projectId}`, JSON.stringify(event), randomUUID());
    await eventually(async () => expect(await metric('agf_messages_total', 'result="duplicate"')).toBe(before.duplicates + 1), 20_000);
    await eventually(async () => expect(await evaluations(request.requestId)).toHaveLength(1));
    expect(await metric('agf_compliance_evaluations_total')).toBe(before.evaluations + 1);
  });

  it('records each compliance.evaluated it publishes in the audit trail, after its cause, without reading it back', async () => {
    const request = aDeploymentRequest();
    const assessed = await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: request.requestId });
    const published = await eventually(async () => {
      const found = (await nats.read('AGF_COMPLIANCE', 'agf.v1.compliance.evaluated.>')).map((m) => m.json<CloudEvent<'compliance.evaluated'>>()).filter((e) => e.data.requestId === request.requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    }, 20_000);
    await eventually(async () => {
      const trail = (await (await fetch(`${compliance.url}/v1/audit/trail?requestId=${request.requestId}`)).json()) as { entries: Array<{ eventId: string; eventType: string; payload: unknown }> };
      expect(trail.entries.map((e) => [e.eventType, e.eventId])).toEqual([['io.agf.risk.assessed.v1', assessed.id], ['io.agf.compliance.evaluated.v1', published.id]]);
      // What the trail holds is the event as subscribers received it.
      expect(trail.entries[1]!.payload).toEqual(published);
    }, 20_000);
    await expect(nats.jsm.consumers.info(nats.namespace.stream('AGF_COMPLIANCE'), 'compliance')).rejects.toThrow(/not found/i);
  });

  it('chains the events an earlier version left in audit_pending, once, even when one of them arrives again', async () => {
    const request = aDeploymentRequest();
    const event = createEvent({ name: 'deployment.requested', source: 'intake', data: request, correlationId: request.requestId });
    // As a version that recorded events for a separate chainer left them: committed, not yet in the chain.
    await db.query(
      `INSERT INTO "compliance"."audit_pending" ("event_id", "event_type", "subject", "correlation_id", "occurred_at", "payload") VALUES ($1, $2, $3, $4, $5, $6)`,
      [event.id, event.type, event.subject, event.correlationid, event.time, canonicalJson(event)],
    );
    // The same event delivered to this version: the pending row is still the one that gets chained.
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake', id: event.id });
    await eventually(async () => {
      const trail = (await (await fetch(`${compliance.url}/v1/audit/trail?requestId=${request.requestId}`)).json()) as { entries: Array<{ eventId: string; payload: unknown }> };
      expect(trail.entries.map((e) => e.eventId)).toEqual([event.id]);
      expect(trail.entries[0]!.payload).toEqual(JSON.parse(canonicalJson(event)));
      expect(await db.query(`SELECT 1 FROM "compliance"."audit_pending"`)).toHaveLength(0);
    }, 20_000);
    expect(await verify()).toMatchObject({ valid: true });
  });

  it('appends every event once to a chain that verifies, and detects a changed or removed row', async () => {
    const request = aDeploymentRequest();
    const event = await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
    // The same event published again (same id, after JetStream's duplicate window for all we know) is audited once.
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake', id: event.id });
    await eventually(async () => {
      const trail = (await (await fetch(`${compliance.url}/v1/audit/trail?requestId=${request.requestId}`)).json()) as { entries: { eventId: string }[] };
      expect(trail.entries.map((e) => e.eventId)).toEqual([event.id]);
    }, 20_000);
    for (let i = 0; i < 4; i += 1) {
      const other = aDeploymentRequest();
      await nats.publishEvent('deployment.requested', other, { correlationId: other.requestId, source: 'intake' });
    }
    // Wait for the earlier tests' events (and their evaluations) to settle so that the counts below are stable.
    const settled = await eventually(async () => {
      const a = await verify();
      await new Promise((r) => setTimeout(r, 500));
      const b = await verify();
      expect(b.entries).toBe(a.entries);
      return b;
    }, 20_000);
    expect(settled).toEqual({ valid: true, entries: settled.entries });
    expect(settled.entries).toBeGreaterThanOrEqual(5);

    const cli = await runAuditVerify(db.url);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(settled);

    const middle = Math.ceil(settled.entries / 2);
    await db.query(`UPDATE "compliance"."audit_entries" SET "payload" = replace("payload", '"specversion":"1.0"', '"specversion":"1.1"') WHERE "sequence" = $1`, [middle]);
    expect(await verify()).toMatchObject({ valid: false, firstBrokenEntry: { sequence: middle, reason: expect.stringMatching(/content hash/) } });
    const broken = await runAuditVerify(db.url);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ valid: false, firstBrokenEntry: { sequence: middle } });

    await db.query(`UPDATE "compliance"."audit_entries" SET "payload" = replace("payload", '"specversion":"1.1"', '"specversion":"1.0"') WHERE "sequence" = $1`, [middle]);
    expect((await verify()).valid).toBe(true);
    await db.query(`DELETE FROM "compliance"."audit_entries" WHERE "sequence" = (SELECT max("sequence") FROM "compliance"."audit_entries")`);
    expect(await verify()).toMatchObject({ valid: false, firstBrokenEntry: { reason: expect.stringMatching(/chain head/) } });
  });
});

async function runAuditVerify(databaseUrl: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [AUDIT_VERIFY, '--database-url', databaseUrl]);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}
