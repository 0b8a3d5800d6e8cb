import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CloudEvent, createEvent, type DeploymentRequest, LIMITS, type RiskAssessed, subjectFor } from '@agf/contracts';
import { aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, type TestIdentity, type TestPrincipal, testIdentity } from '@agf/testing';

jest.setTimeout(90_000);

function assessed(request: DeploymentRequest, overallScore: number, securityScore = 0.2): RiskAssessed {
  return aRiskAssessment(request, { overallScore, securityScore, complexityScore: 0.2, impactScore: 0.2, historicalScore: 0.3, confidence: 0.75 });
}

describe('coe service (real NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let coe: ServiceProcess;
  let identity: TestIdentity;

  beforeAll(async () => {
    identity = await testIdentity();
    db = await createTestDatabase();
    nats = await TestNats.connect();
    coe = await ServiceProcess.start('coe', {
      databaseUrl: db.url,
      namespace: nats.namespace.prefix,
      env: { AGF_CONFIG: join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml') },
    });
  });

  afterAll(async () => {
    await coe?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  const publish = async <N extends 'risk.assessed' | 'review.submit'>(name: N, data: CloudEvent<N>['data'], id?: string, headers?: Record<string, string>) => {
    const event = createEvent({ name, source: 'test', correlationId: data.requestId, data, ...(id ? { id } : {}) });
    await nats.publish(subjectFor(name, data.projectId), JSON.stringify(event), event.id, headers);
    return event;
  };
  /** The NATS header of a principal: by default the reviewer the fixture binds to the expert (its id). */
  const credentialOf = async (principal: TestPrincipal) => ({ Authorization: await identity.bearer(principal) });
  const reviewerOf = (expertId: string) => credentialOf({ sub: expertId, roles: ['reviewer'] });
  /** An expert's answer, sent with the credential of the reviewer bound to it. */
  const answer = async (data: CloudEvent<'review.submit'>['data'], id?: string) => publish('review.submit', data, id, await reviewerOf(data.expertId));
  const refusalsCausedBy = async (eventId: string) =>
    (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>()).filter((e) => e.causationid === eventId);
  const decisionsOf = async (requestId: string) =>
    (await nats.read('AGF_DECISION', 'agf.v1.decision.made.>')).map((m) => m.json<CloudEvent<'decision.made'>>()).filter((e) => e.data.requestId === requestId);
  const rejectionsOf = async (requestId: string) =>
    (await nats.read('AGF_REVIEW', 'agf.v1.review.rejected.>')).map((m) => m.json<CloudEvent<'review.rejected'>>()).filter((e) => e.data.requestId === requestId);
  const reviewEvents = async (requestId: string, subject: string) =>
    (await nats.read('AGF_REVIEW', subject)).map((m) => m.json<CloudEvent<'review.assigned'>>()).filter((e) => e.data.requestId === requestId);

  it('decides a request that fires no trigger at once: PROCEED_STANDARD', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-plain' });
    await publish('risk.assessed', assessed(request, 0.1));
    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data).toMatchObject({ outcome: 'PROCEED_STANDARD', approved: true, triggers: [], tierLevel: 0 });
    expect(decision!.correlationid).toBe(request.requestId);
  });

  it('runs built-in validators on tier 0 and rejects failing tests with the reason', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-tests', changes: ['src/auth/login.ts'], riskIndicators: { testsPassed: false, securitySensitive: true } });
    await publish('risk.assessed', assessed(request, 0.2));
    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data.outcome).toBe('BLOCK_WITH_FEEDBACK');
    // Failing tests are a critical deployment whatever the risk; the security-sensitive change fires its own trigger.
    expect(decision!.data.triggers.map((t) => t.condition)).toEqual(['CRITICAL_DEPLOYMENT', 'SECURITY_CHANGE']);
    expect(decision!.data.decisionRationale).toContain('failing tests');
  });

  it('waits for the human reviewer on tier 1, rejects a foreign or second answer with the reason, and decides exactly once', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-human', changes: ['src/auth/session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true } });
    await publish('risk.assessed', assessed(request, 0.5, 0.6));
    const assigned = await eventually(async () => {
      const found = await reviewEvents(request.requestId, 'agf.v1.review.assigned.>');
      expect(found.map((e) => e.data.role)).toEqual(['standard']);
      return found;
    });
    // The built-in validator answered as it was assigned: its assignment comes inside its review.completed.
    const validated = (await nats.read('AGF_REVIEW', 'agf.v1.review.completed.>')).map((m) => m.json<CloudEvent<'review.completed'>>()).filter((e) => e.data.requestId === request.requestId);
    expect(validated.map((e) => [e.data.assignment?.role, e.data.assignment?.assignmentId === e.data.assignmentId, e.data.assignment?.expertId === e.data.expertId])).toEqual([['validator', true, true]]);
    const human = assigned.find((e) => e.data.expertKind === 'human')!.data;
    expect(await decisionsOf(request.requestId)).toHaveLength(0);

    const base = { requestId: request.requestId, projectId: request.projectId, assignmentId: human.assignmentId, comments: 'looks fine', conditions: ['canary first'], submittedAt: new Date().toISOString() };
    const foreign = await answer({ ...base, expertId: 'someone_else', decision: 'reject' });
    const first = await answer({ ...base, expertId: human.expertId, decision: 'conditional' });
    await answer({ ...base, expertId: human.expertId, decision: 'conditional' }, first.id); // redelivered
    const second = await answer({ ...base, expertId: human.expertId, decision: 'reject' }); // answered twice

    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data).toMatchObject({ outcome: 'PROCEED_WITH_MONITORING', approved: true, conditions: ['canary first'], tierLevel: 1 });
    expect(decision!.data.monitoringRequirements.length).toBeGreaterThan(0);
    expect(decision!.data.rollbackPlan).toMatchObject({ source: 'generated' });
    expect(decision!.data.confidence.calculationBasis.expertCount).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await decisionsOf(request.requestId)).toHaveLength(1);
    const open = await db.query<{ open_reviews: number }>(`SELECT "open_reviews" FROM "coe"."experts" WHERE "id" = $1`, [human.expertId]);
    expect(open[0]!.open_reviews).toBe(0);
    // The redelivered answer had no effect at all; the two others were each answered once, with the reason.
    const rejected = (await rejectionsOf(request.requestId)).map((e) => ({ causedBy: e.causationid, code: e.data.code, expertId: e.data.expertId }));
    expect(rejected.sort((a, b) => a.code.localeCompare(b.code))).toEqual([
      { causedBy: second.id, code: 'already-decided', expertId: human.expertId },
      // Nobody is bound to answer for `someone_else`: refused before anything is looked up.
      { causedBy: foreign.id, code: 'forbidden', expertId: 'someone_else' },
    ]);
    // The review carries who answered, as the CoE verified it.
    const completed = (await nats.read('AGF_REVIEW', 'agf.v1.review.completed.>')).map((m) => m.json<CloudEvent<'review.completed'>>()).filter((e) => e.data.requestId === request.requestId);
    expect(completed.map((e) => [e.data.expertKind, e.data.actor])).toEqual(
      expect.arrayContaining([
        ['automated', undefined],
        ['human', { subject: human.expertId, issuer: identity.issuer, channel: 'nats' }],
      ]),
    );
  });

  it('takes an answer over NATS only from a principal bound to the expert, never from the requester, and records each refusal', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-identity', requester: 'dev-dana', changes: ['src/auth/mfa.ts'], riskIndicators: { securitySensitive: true, testsPassed: true } });
    await publish('risk.assessed', assessed(request, 0.5, 0.6));
    const human = await eventually(async () => {
      const found = (await reviewEvents(request.requestId, 'agf.v1.review.assigned.>')).find((e) => e.data.expertKind === 'human');
      expect(found).toBeDefined();
      return found!.data;
    });
    const data = { requestId: request.requestId, projectId: request.projectId, assignmentId: human.assignmentId, expertId: human.expertId, decision: 'approve' as const, comments: 'ok', conditions: [], submittedAt: new Date().toISOString() };
    const anonymous = await publish('review.submit', data);
    const forged = await publish('review.submit', data, undefined, { Authorization: `Bearer ${await identity.tokenSignedByAnotherKey({ sub: human.expertId, roles: ['reviewer'] })}` });
    const unbound = await publish('review.submit', data, undefined, await credentialOf({ sub: 'mallory', roles: ['reviewer'] }));
    const admin = await publish('review.submit', data, undefined, await credentialOf({ sub: 'root', roles: ['admin', 'auditor'] }));
    const notReviewer = await publish('review.submit', data, undefined, await credentialOf({ sub: human.expertId, roles: ['submitter'], projects: ['*'] }));
    // Claiming to come from intake is not enough without the actor intake puts in every answer it forwards.
    const bareIntake = createEvent({ name: 'review.submit', source: 'intake', correlationId: request.requestId, data });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(bareIntake), bareIntake.id);

    const expected: Array<[CloudEvent<'review.submit'>, string, string, string | undefined]> = [
      [anonymous, 'unauthenticated', 'unauthenticated', undefined],
      [forged, 'unauthenticated', 'unauthenticated', undefined],
      [unbound, 'forbidden', 'not-bound-to-expert', 'mallory'],
      [admin, 'forbidden', 'not-bound-to-expert', 'root'],
      [notReviewer, 'forbidden', 'forbidden', human.expertId],
      [bareIntake, 'unauthenticated', 'unauthenticated', undefined],
    ];
    for (const [sent, code, refusal, subject] of expected) {
      await eventually(async () => {
        expect((await rejectionsOf(request.requestId)).filter((e) => e.causationid === sent.id).map((e) => e.data.code)).toEqual([code]);
        // Recorded for the audit trail, in the same transaction as the rejection.
        const [recorded, ...more] = await refusalsCausedBy(sent.id);
        expect(more).toEqual([]);
        expect(recorded!.data).toMatchObject({ service: 'coe', channel: 'nats', code: refusal, target: subjectFor('review.submit', request.projectId) });
        expect(recorded!.data.actor?.subject).toBe(subject);
      });
    }
    expect(await decisionsOf(request.requestId)).toHaveLength(0);

    // The requester, bound to the assigned expert after it was assigned (the only way they get to answer for it).
    const fixture = join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml');
    const withRequester = join(mkdtempSync(join(tmpdir(), 'agf-coe-')), 'agf-config.yaml');
    const binding = `principal: "${human.expertId}"`;
    expect(readFileSync(fixture, 'utf8')).toContain(binding);
    writeFileSync(withRequester, readFileSync(fixture, 'utf8').replace(binding, `principal: ["${human.expertId}", "dev-dana"]`));
    try {
      await coe.stop();
      await coe.restart({ AGF_CONFIG: withRequester });
      const own = await publish('review.submit', data, undefined, await credentialOf({ sub: 'dev-dana', roles: ['reviewer'] }));
      await eventually(async () => {
        expect((await rejectionsOf(request.requestId)).filter((e) => e.causationid === own.id).map((e) => e.data.code)).toEqual(['separation-of-duties']);
        expect((await refusalsCausedBy(own.id)).map((e) => [e.data.code, e.data.actor?.subject])).toEqual([['separation-of-duties', 'dev-dana']]);
      });
    } finally {
      await coe.stop();
      await coe.restart();
      rmSync(dirname(withRequester), { recursive: true, force: true });
    }

    // Through intake, which authenticated the reviewer over HTTP: its actor is taken as it comes.
    const viaIntake = createEvent({ name: 'review.submit', source: 'intake', correlationId: request.requestId, data: { ...data, actor: { subject: human.expertId, issuer: identity.issuer, channel: 'http' } } });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(viaIntake), viaIntake.id);
    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data.approved).toBe(true);
    const completed = (await nats.read('AGF_REVIEW', 'agf.v1.review.completed.>')).map((m) => m.json<CloudEvent<'review.completed'>>()).find((e) => e.data.assignmentId === human.assignmentId);
    expect(completed!.data.actor).toEqual({ subject: human.expertId, issuer: identity.issuer, channel: 'http' });
    expect(await refusalsCausedBy(viaIntake.id)).toEqual([]);
  });

  it('rejects at once an answer for a request it does not know, instead of retrying it into the dead letters', async () => {
    const requestId = randomUUID();
    const unknown = await answer({
      requestId,
      projectId: 'coe-unknown',
      assignmentId: randomUUID(),
      expertId: 'security_expert_human',
      decision: 'approve',
      comments: 'fine',
      conditions: [],
      submittedAt: new Date().toISOString(),
    });
    const [rejection] = await eventually(async () => {
      const found = await rejectionsOf(requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(rejection).toMatchObject({ causationid: unknown.id, subject: requestId, data: { code: 'unknown-request', projectId: 'coe-unknown', assignmentId: unknown.data.assignmentId } });
    expect((await nats.read('AGF_DLQ')).filter((m) => m.json<{ id: string }>().id === unknown.id)).toHaveLength(0);
  });

  it('answers an expert answer that fails the schema with invalid-answer and the fields, dead-letters one that names no assignment, and takes the next answer', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-long-answer', changes: ['src/auth/token.ts'], riskIndicators: { securitySensitive: true, testsPassed: true } });
    await publish('risk.assessed', assessed(request, 0.5, 0.6));
    const human = await eventually(async () => {
      const found = (await reviewEvents(request.requestId, 'agf.v1.review.assigned.>')).find((e) => e.data.expertKind === 'human');
      expect(found).toBeDefined();
      return found!.data;
    });
    const base = { requestId: request.requestId, projectId: request.projectId, assignmentId: human.assignmentId, expertId: human.expertId, submittedAt: new Date().toISOString() };
    // Beyond what a reviewer may write over HTTP: the CoE says which field, once, however often it comes.
    const longComments = await publish('review.submit', { ...base, decision: 'reject', comments: 'x'.repeat(LIMITS.longText + 1), conditions: [] });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(longComments), `${longComments.id}-again`);
    const manyConditions = await publish('review.submit', { ...base, decision: 'reject', comments: 'no', conditions: Array.from({ length: LIMITS.conditions + 1 }, (_, i) => `condition ${i}`) });
    // Without an assignment id there is nobody to answer.
    const { assignmentId: _dropped, ...unaddressed } = { ...base, decision: 'reject', comments: 'no', conditions: [] };
    const nameless = createEvent({ name: 'review.submit', source: 'test', correlationId: request.requestId, data: unaddressed as never });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(nameless), nameless.id);
    // A corrected answer with the invalid one's event id (past JetStream's duplicate window, or with another
    // Nats-Msg-Id) is not taken for a duplicate of it.
    const corrected = createEvent({ name: 'review.submit', source: 'test', correlationId: request.requestId, id: manyConditions.id, data: { ...base, decision: 'approve', comments: 'fine', conditions: [] } });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(corrected), `${corrected.id}-corrected`, await reviewerOf(human.expertId));

    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data).toMatchObject({ approved: true, tierLevel: 1 });
    const rejected = await eventually(async () => {
      const found = await rejectionsOf(request.requestId);
      expect(found).toHaveLength(2);
      return found;
    });
    expect(rejected.map((e) => ({ causedBy: e.causationid, code: e.data.code, assignmentId: e.data.assignmentId, expertId: e.data.expertId, reason: e.data.reason })).sort((a, b) => a.reason.localeCompare(b.reason))).toEqual([
      { causedBy: longComments.id, code: 'invalid-answer', assignmentId: human.assignmentId, expertId: human.expertId, reason: expect.stringMatching(/^invalid review.submit: data.comments/) },
      { causedBy: manyConditions.id, code: 'invalid-answer', assignmentId: human.assignmentId, expertId: human.expertId, reason: expect.stringMatching(/^invalid review.submit: data.conditions/) },
    ]);
    const dead = await eventually(async () => {
      const found = (await nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Consumer'] === 'coe' && m.json<{ id: string }>().id === nameless.id);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/invalid review.submit: data.assignmentId.*names no assignment to answer/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('1');
    expect((await nats.read('AGF_DLQ')).filter((m) => [longComments.id, manyConditions.id].includes(m.json<{ id: string }>().id))).toEqual([]);
  });

  it('applies a break-glass that arrives before the request is classified, once, when it is', async () => {
    const request = aDeploymentRequest({ projectId: 'coe-break-glass', changes: ['src/auth/session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true } });
    const breakGlass = { requestId: request.requestId, projectId: request.projectId, justification: 'outage in production, hotfix', actor: { subject: 'erin-oncall', channel: 'http' as const }, requestedAt: new Date().toISOString() };
    await nats.publishEvent('deployment.break_glass', breakGlass, { correlationId: request.requestId, source: 'intake' });
    await eventually(async () => expect(await db.query(`SELECT 1 FROM "coe"."break_glass" WHERE "request_id" = $1`, [request.requestId])).toHaveLength(1));
    await publish('risk.assessed', assessed(request, 0.5, 0.6));
    const [decision] = await eventually(async () => {
      const found = await decisionsOf(request.requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(decision!.data).toMatchObject({ outcome: 'PROCEED_STANDARD', approved: true, emergency: { approvedBy: { subject: 'erin-oncall' } } });
    // The human review assigned at classification was cancelled by the decision, with its own event.
    const human = (await reviewEvents(request.requestId, 'agf.v1.review.assigned.>')).find((e) => e.data.expertKind === 'human' && e.data.expertType !== 'human_oversight')!.data;
    await eventually(async () => {
      const cancelled = (await nats.read('AGF_REVIEW', 'agf.v1.review.cancelled.>')).map((m) => m.json<CloudEvent<'review.cancelled'>>()).filter((e) => e.data.requestId === request.requestId);
      expect(cancelled.map((e) => [e.data.assignmentId, e.data.reason])).toEqual([[human.assignmentId, 'decided']]);
    });
    // A redelivered or second break-glass changes nothing.
    await nats.publishEvent('deployment.break_glass', { ...breakGlass, requestedAt: new Date().toISOString() }, { correlationId: request.requestId, source: 'intake' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await decisionsOf(request.requestId)).toHaveLength(1);
  });

  it('gives a role of a type nobody can take to the configured fallback type, and does not decide at once', async () => {
    // The registry without performance experts; performance falls back to architecture.
    const fixture = join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml');
    const withFallback = join(mkdtempSync(join(tmpdir(), 'agf-coe-')), 'agf-config.yaml');
    const yaml = readFileSync(fixture, 'utf8');
    const performance = yaml.slice(yaml.indexOf('  performance:\n'), yaml.indexOf('  compliance:\n    - id: "compliance_agent_1"'));
    expect(performance).toContain('sre_human');
    writeFileSync(withFallback, `${yaml.replace(performance, '')}\nescalation:\n  fallback:\n    performance: ["architecture"]\n`);
    try {
      await coe.stop();
      await coe.restart({ AGF_CONFIG: withFallback });
      const request = aDeploymentRequest({ projectId: 'coe-fallback', changes: ['src/checkout/pay.ts'], riskIndicators: { testsPassed: true, userImpact: 'critical' } });
      await publish('risk.assessed', aRiskAssessment(request, { overallScore: 0.5, securityScore: 0.1, complexityScore: 0.2, impactScore: 0.8, historicalScore: 0.3, confidence: 0.75 }));
      const assigned = await eventually(async () => {
        const found = await reviewEvents(request.requestId, 'agf.v1.review.assigned.>');
        expect(found.some((e) => e.data.scope.some((s) => s.startsWith('in place of a performance reviewer')))).toBe(true);
        return found.map((e) => e.data);
      });
      const standIns = assigned.filter((a) => a.scope.some((s) => s.startsWith('in place of a performance reviewer')));
      expect(standIns.every((a) => a.expertType === 'architecture')).toBe(true);
      expect(standIns.some((a) => a.expertKind === 'human')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await decisionsOf(request.requestId)).toHaveLength(0);
    } finally {
      await coe.stop();
      await coe.restart();
      rmSync(dirname(withFallback), { recursive: true, force: true });
    }
  });

  it('serves the expert registry loaded from agf-config.yaml to admins and auditors only', async () => {
    for (const roles of [['admin'], ['auditor']] as const) {
      const response = await fetch(`${coe.url}/v1/experts`, { headers: await identity.headers({ sub: 'ops', roles: [...roles] }) });
      const { experts } = (await response.json()) as { experts: { id: string }[] };
      expect(experts.map((e) => e.id)).toEqual(expect.arrayContaining(['security_agent_1', 'oversight_board_1']));
    }
    expect((await fetch(`${coe.url}/v1/experts`, { headers: await identity.headers({ sub: 'security_expert_human', roles: ['reviewer', 'submitter'], projects: ['*'] }) })).status).toBe(403);
    expect((await fetch(`${coe.url}/v1/experts`)).status).toBe(401);
  });

  it('reads the expert list once for the requests of one batch, and decides each of them', async () => {
    // Postgres counts the scans of a table; a stopped service's backends have reported theirs.
    const expertListReads = async () =>
      Number((await db.query<{ scans: string }>(`SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS "scans" FROM pg_stat_user_tables WHERE schemaname = 'coe' AND relname = 'experts'`))[0]!.scans);
    await coe.stop();
    const before = await expertListReads();
    // Queued while the service is down, so that it classifies them in one batch when it is back.
    const requests = Array.from({ length: 6 }, () => aDeploymentRequest({ projectId: 'coe-batch', changes: ['src/auth/login.ts'], riskIndicators: { testsPassed: true, securitySensitive: true } }));
    for (const request of requests) await publish('risk.assessed', assessed(request, 0.2));
    await coe.restart();
    for (const request of requests) await eventually(async () => expect(await decisionsOf(request.requestId)).toHaveLength(1));
    await coe.stop();
    // Start-up reads the registry once; then one read per transaction, where each request used to cost one.
    expect(await expertListReads()).toBeLessThan(before + 1 + requests.length);
    await coe.restart();
  });

  it('spreads the human reviews of one batch over the experts by load, as it does one request at a time', async () => {
    // A registry with two standard security reviewers (the lead made standard).
    const fixture = join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml');
    const twoReviewers = join(mkdtempSync(join(tmpdir(), 'agf-coe-')), 'agf-config.yaml');
    const yaml = readFileSync(fixture, 'utf8');
    const lead = '- id: "security_lead_human"\n      type: "human"\n      principal: "security_lead_human"\n      level: "strategic"\n';
    expect(yaml).toContain(lead);
    writeFileSync(twoReviewers, yaml.replace(lead, '- id: "security_lead_human"\n      type: "human"\n      principal: "security_lead_human"\n'));
    try {
      await coe.stop();
      const requests = [1, 2].map(() => aDeploymentRequest({ projectId: 'coe-spread', changes: ['src/auth/session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true } }));
      for (const request of requests) await publish('risk.assessed', assessed(request, 0.5, 0.6));
      await coe.restart({ AGF_CONFIG: twoReviewers });
      const reviewers = await eventually(async () => {
        const humans = await Promise.all(requests.map(async (r) => (await reviewEvents(r.requestId, 'agf.v1.review.assigned.>')).filter((e) => e.data.expertKind === 'human')));
        humans.forEach((assigned) => expect(assigned).toHaveLength(1));
        return humans.map((assigned) => assigned[0]!.data.expertId);
      });
      // The second request's plan sees the slot the first took in the same transaction.
      expect(reviewers.sort()).toEqual(['security_expert_human', 'security_lead_human']);
      await coe.stop();
      await coe.restart();
    } finally {
      rmSync(dirname(twoReviewers), { recursive: true, force: true });
    }
  });
});
