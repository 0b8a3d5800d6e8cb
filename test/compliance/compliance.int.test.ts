import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canonicalJson } from '@agf/compliance-domain';
import { type CloudEvent, createEvent, type DeploymentRequest } from '@agf/contracts';
import { aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { ensureConsumer, ensureStreams } from '@agf/messaging';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, type TestIdentity, testIdentity, TestNats } from '@agf/testing';

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
  let identity: TestIdentity;
  let auditor: Record<string, string>;

  beforeAll(async () => {
    identity = await testIdentity();
    auditor = await identity.headers({ sub: 'auditor-ann', roles: ['auditor'] });
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

  const verify = async (): Promise<Verification> => (await (await fetch(`${compliance.url}/v1/audit/verify`, { headers: auditor })).json()) as Verification;
  const trailOf = async (correlationId: string) =>
    ((await (await fetch(`${compliance.url}/v1/audit/trail?requestId=${correlationId}`, { headers: auditor })).json()) as { entries: Array<{ eventId: string; eventType: string; payload: CloudEvent<never> }> }).entries;
  const evaluationOf = async (requestId: string) => fetch(`${compliance.url}/v1/compliance/${requestId}`, { headers: auditor });
  const securityEvents = async <N extends 'security.refused' | 'security.audit.read'>(name: N) =>
    (await nats.read('AGF_SECURITY', `agf.v1.${name}`)).map((m) => m.json<CloudEvent<N>>());

  /** The chain's length once nothing has been appended for half a second. */
  const settledChainLength = () =>
    eventually(async () => {
      const length = async () => Number((await db.query<{ sequence: string }>(`SELECT "sequence" FROM "compliance"."chain_head"`))[0]!.sequence);
      const before = await length();
      await new Promise((r) => setTimeout(r, 500));
      expect(await length()).toBe(before);
      return before;
    }, 20_000);

  /** A person's review, answered (as the CoE verified) by the subject of the expert's name. */
  function completed(request: DeploymentRequest, assignmentId: string, expertId: string, expertType: 'security' | 'compliance', decision: 'approve' | 'reject') {
    return {
      actor: { subject: expertId, channel: 'http' as const },
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

  it('passes SOC2 CC8.1 on a governed change only once a verified person approves; a tier 0 change on its validators', async () => {
    const classified = (request: DeploymentRequest, tierLevel: 0 | 1) => ({
      requestId: request.requestId,
      projectId: request.projectId,
      governanceRequired: true,
      triggers: [{ condition: 'SECURITY_CHANGE' as const, reason: 'touches src/auth' }],
      tierLevel,
      tierReasons: ['test'],
      classifiedAt: new Date().toISOString(),
    });
    const validator = (request: DeploymentRequest, assignmentId: string) => ({
      ...completed(request, assignmentId, 'security_agent_1', 'security', 'approve'),
      expertKind: 'automated' as const,
      actor: undefined,
    });
    const cc81 = async (requestId: string, basedOn: string[]) =>
      eventually(async () => {
        const latest = await evaluationOf(requestId);
        expect(latest.status).toBe(200);
        const evaluation = (await latest.json()) as CloudEvent<'compliance.evaluated'>['data'];
        expect([...evaluation.basedOnAssignments].sort()).toEqual([...basedOn].sort());
        return evaluation.controls.find((c) => c.framework === 'SOC2')!;
      }, 20_000);

    const governed = aDeploymentRequest({ requester: 'dev-carol' });
    const id = { correlationId: governed.requestId };
    const [validatorReview, humanReview] = [randomUUID(), randomUUID()];
    await nats.publishEvent('review.classified', classified(governed, 1), id);
    await nats.publishEvent('risk.assessed', aRiskAssessment(governed), id);
    await nats.publishEvent('review.assigned', { ...assigned(governed, validatorReview, 'security_agent_1', 'security'), expertKind: 'automated', role: 'validator' }, id);
    await nats.publishEvent('review.completed', validator(governed, validatorReview), id);
    await nats.publishEvent('review.assigned', assigned(governed, humanReview, 'security_expert_human', 'security'), id);
    // The validator approved, the person has not answered: waiting, whichever batch the assignments came in.
    await eventually(async () => expect(await cc81(governed.requestId, [validatorReview])).toMatchObject({ status: 'pending', reason: expect.stringMatching(/verified person/) }), 20_000);
    await nats.publishEvent('review.completed', { ...completed(governed, humanReview, 'security_expert_human', 'security', 'approve'), actor: { subject: 'sam@example.com', channel: 'http' } }, id);
    expect(await cc81(governed.requestId, [validatorReview, humanReview])).toMatchObject({ status: 'pass', reason: expect.stringMatching(/approved by sam@example.com for security_expert_human/) });

    // The same validator's approval suffices where the policy leaves the change to validators (tier 0).
    const automated = aDeploymentRequest({ requester: 'dev-carol' });
    const automatedReview = randomUUID();
    await nats.publishEvent('review.classified', classified(automated, 0), { correlationId: automated.requestId });
    await nats.publishEvent('risk.assessed', aRiskAssessment(automated), { correlationId: automated.requestId });
    await nats.publishEvent('review.assigned', { ...assigned(automated, automatedReview, 'security_agent_1', 'security'), expertKind: 'automated', role: 'validator', tierLevel: 0 }, { correlationId: automated.requestId });
    await nats.publishEvent('review.completed', validator(automated, automatedReview), { correlationId: automated.requestId });
    expect(await cc81(automated.requestId, [automatedReview])).toMatchObject({ status: 'pass', reason: expect.stringMatching(/security_agent_1.*tier 0/) });
  });

  it('records every read of the evidence, refuses it to anyone but an auditor, and chains both, with API key events, into the trail', async () => {
    const request = aDeploymentRequest();
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
    await eventually(async () => expect(await trailOf(request.requestId)).toHaveLength(1), 20_000);
    const target = `/v1/audit/trail?requestId=${request.requestId}`;
    const read = await eventually(async () => {
      const found = (await securityEvents('security.audit.read')).filter((e) => e.data.target === target);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found[0]!;
    }, 20_000);
    expect(read.data.actor).toEqual({ subject: 'auditor-ann', issuer: identity.issuer, channel: 'http' });
    // Chained like any other event: found under its own correlation id (not the request's, whose trail it would change).
    await eventually(async () => expect((await trailOf(read.correlationid)).map((e) => [e.eventType, e.eventId])).toEqual([['io.agf.security.audit.read.v1', read.id]]), 20_000);
    expect((await trailOf(request.requestId)).map((e) => e.eventType)).toEqual(['io.agf.deployment.requested.v1']);
    for (const path of ['/v1/audit/verify', `/v1/compliance/${request.requestId}`]) {
      await fetch(`${compliance.url}${path}`, { headers: auditor });
      await eventually(async () => expect((await securityEvents('security.audit.read')).map((e) => e.data.target)).toContain(path), 20_000);
    }

    // No credential: 401; a submitter, even of the project: 403. Each refusal is recorded and chained; neither is a read.
    expect((await fetch(`${compliance.url}/v1/audit/verify`)).status).toBe(401);
    const submitter = await identity.headers({ sub: 'ci-bot', roles: ['submitter'], projects: [request.projectId] });
    expect((await fetch(`${compliance.url}${target}`, { headers: submitter })).status).toBe(403);
    expect((await fetch(`${compliance.url}/v1/compliance/${request.requestId}`, { headers: await identity.headers({ sub: 'root', roles: ['admin'] }) })).status).toBe(403);
    const refused = await eventually(async () => {
      const found = (await securityEvents('security.refused')).filter((e) => e.data.service === 'compliance');
      expect(found.map((e) => [e.data.code, e.data.target, e.data.actor?.subject ?? null].join(' ')).sort()).toEqual(
        [`forbidden GET /v1/compliance/${request.requestId} root`, `forbidden GET ${target} ci-bot`, 'unauthenticated GET /v1/audit/verify '].sort(),
      );
      return found;
    }, 20_000);
    for (const refusal of refused) {
      await eventually(async () => expect((await trailOf(refusal.correlationid)).map((e) => e.eventId)).toEqual([refusal.id]), 20_000);
    }
    expect((await securityEvents('security.audit.read')).filter((e) => e.data.actor.subject !== 'auditor-ann')).toEqual([]);

    // Keys issued and revoked (by intake's admin API) are evidence too.
    const keyId = randomUUID();
    const admin = { subject: 'root', channel: 'http' as const };
    const issued = await nats.publishEvent(
      'access.key.issued',
      { keyId, name: 'ci', subject: 'ci-bot', roles: ['submitter'], projects: ['shop'], keyHash: 'a'.repeat(64), expiresAt: null, issuedAt: new Date().toISOString(), issuedBy: admin },
      { correlationId: keyId, source: 'intake' },
    );
    const revoked = await nats.publishEvent('access.key.revoked', { keyId, revokedAt: new Date().toISOString(), revokedBy: admin }, { correlationId: keyId, source: 'intake' });
    await eventually(async () => expect((await trailOf(keyId)).map((e) => e.eventId)).toEqual([issued.id, revoked.id]), 20_000);
  });

  /** A person's approval of a request compliance has not seen yet, audited before the test goes on. */
  async function reviewedBeforeAssessment(request: DeploymentRequest): Promise<CloudEvent<'review.completed'>> {
    const review = await nats.publishEvent('review.completed', completed(request, randomUUID(), 'security_expert_human', 'security', 'approve'), { correlationId: request.requestId });
    await eventually(async () => expect((await trailOf(request.requestId)).map((e) => e.eventId)).toEqual([review.id]), 20_000);
    return review;
  }

  it('keeps an assessment-alone evaluation (pending, nothing failed) without publishing it; the first review publishes one', async () => {
    const request = aDeploymentRequest();
    const assessed = await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: request.requestId });
    await eventually(async () => expect(await (await evaluationOf(request.requestId)).json()).toMatchObject({ requestId: request.requestId, passed: false, pending: true }), 20_000);
    expect(await evaluations(request.requestId)).toEqual([]);
    expect((await trailOf(request.requestId)).map((e) => e.eventId)).toEqual([assessed.id]);

    const reviewId = randomUUID();
    await nats.publishEvent('review.assigned', assigned(request, reviewId, 'security_expert_human', 'security'), { correlationId: request.requestId });
    await nats.publishEvent('review.completed', completed(request, reviewId, 'security_expert_human', 'security', 'approve'), { correlationId: request.requestId });
    await eventually(async () => expect((await evaluations(request.requestId)).map((e) => e.basedOnAssignments)).toEqual([[reviewId]]), 20_000);
  });

  it('counts in /metrics only what committed: a redelivered risk.assessed evaluates once', async () => {
    const metric = async (name: string, labels = '') => {
      const text = await (await fetch(`${compliance.url}/metrics`, { headers: auditor })).text();
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
    // With a review in, the assessment's evaluation is published (one of the assessment alone would not be).
    await reviewedBeforeAssessment(request);
    const event = await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: request.requestId });
    // The same event under another Nats-Msg-Id: past JetStream's duplicate window, only the inbox knows it.
    await nats.publish(`agf.v1.risk.assessed.${request.projectId}`, JSON.stringify(event), randomUUID());
    await eventually(async () => expect(await metric('agf_messages_total', 'result="duplicate"')).toBe(before.duplicates + 1), 20_000);
    await eventually(async () => expect(await evaluations(request.requestId)).toHaveLength(1));
    expect(await metric('agf_compliance_evaluations_total')).toBe(before.evaluations + 1);
  });

  it('records each compliance.evaluated it publishes in the audit trail, after its cause, without reading it back', async () => {
    const request = aDeploymentRequest();
    const review = await reviewedBeforeAssessment(request);
    const assessed = await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: request.requestId });
    const published = await eventually(async () => {
      const found = (await nats.read('AGF_COMPLIANCE', 'agf.v1.compliance.evaluated.>')).map((m) => m.json<CloudEvent<'compliance.evaluated'>>()).filter((e) => e.data.requestId === request.requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    }, 20_000);
    await eventually(async () => {
      const entries = await trailOf(request.requestId);
      expect(entries.map((e) => [e.eventType, e.eventId])).toEqual([
        ['io.agf.review.completed.v1', review.id],
        ['io.agf.risk.assessed.v1', assessed.id],
        ['io.agf.compliance.evaluated.v1', published.id],
      ]);
      // What the trail holds is the event as subscribers received it.
      expect(entries[2]!.payload).toEqual(published);
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
      const entries = await trailOf(request.requestId);
      expect(entries.map((e) => e.eventId)).toEqual([event.id]);
      expect(entries[0]!.payload).toEqual(JSON.parse(canonicalJson(event)));
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
      expect((await trailOf(request.requestId)).map((e) => e.eventId)).toEqual([event.id]);
    }, 20_000);
    for (let i = 0; i < 4; i += 1) {
      const other = aDeploymentRequest();
      await nats.publishEvent('deployment.requested', other, { correlationId: other.requestId, source: 'intake' });
    }
    // Wait for the earlier tests' events (and their evaluations) to settle so that the counts below are stable.
    // Watched in the database: each read over HTTP is itself recorded, and chained a moment later.
    const settled = await settledChainLength();
    expect(settled).toBeGreaterThanOrEqual(5);
    const cli = await runAuditVerify(db.url);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ valid: true, entries: settled });
    // The auditor's view agrees (its own read, recorded before the answer, may already lie in the chain).
    const overHttp = await verify();
    expect(overHttp).toEqual({ valid: true, entries: expect.any(Number) });
    expect(overHttp.entries - settled).toBeLessThanOrEqual(1);

    const middle = Math.ceil(settled / 2);
    // The table refuses changes, even to the superuser this test connects as…
    await expect(db.query(`UPDATE "compliance"."audit_entries" SET "subject" = 'x' WHERE "sequence" = $1`, [middle])).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM "compliance"."audit_entries" WHERE "sequence" = $1`, [middle])).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE "compliance"."audit_entries"`)).rejects.toThrow(/append-only/);
    // …until that superuser turns the trigger off: the insider the hash chain (and the signed checkpoints) must catch.
    await db.query(`ALTER TABLE "compliance"."audit_entries" DISABLE TRIGGER USER`);
    await db.query(`UPDATE "compliance"."audit_entries" SET "payload" = replace("payload", '"specversion":"1.0"', '"specversion":"1.1"') WHERE "sequence" = $1`, [middle]);
    expect(await verify()).toMatchObject({ valid: false, firstBrokenEntry: { sequence: middle, reason: expect.stringMatching(/content hash/) } });
    const broken = await runAuditVerify(db.url);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ valid: false, firstBrokenEntry: { sequence: middle } });

    await db.query(`UPDATE "compliance"."audit_entries" SET "payload" = replace("payload", '"specversion":"1.1"', '"specversion":"1.0"') WHERE "sequence" = $1`, [middle]);
    expect((await verify()).valid).toBe(true);
    // Once the reads above are chained, nothing else appends: the newest entry removed is the last one.
    await settledChainLength();
    await db.query(`DELETE FROM "compliance"."audit_entries" WHERE "sequence" = (SELECT max("sequence") FROM "compliance"."audit_entries")`);
    const truncated = await runAuditVerify(db.url);
    expect(truncated.code).toBe(1);
    expect(JSON.parse(truncated.stdout)).toMatchObject({ valid: false, firstBrokenEntry: { reason: expect.stringMatching(/chain head/) } });
  });
});

async function runAuditVerify(databaseUrl: string): Promise<{ code: number; stdout: string }> {
  try {
    // This test's chain has no checkpoints; the checkout's own (`.agf/audit-checkpoints`, of `npm start`'s database) are not its.
    const { stdout } = await promisify(execFile)(process.execPath, [AUDIT_VERIFY, '--database-url', databaseUrl, '--no-checkpoints']);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}
