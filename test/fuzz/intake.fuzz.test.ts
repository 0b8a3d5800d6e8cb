import fc from 'fast-check';
import { aDecision, aDeploymentRequestInput } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, testIdentity, TestNats, type TestDatabase } from '@agf/testing';
import { edgeTime, nasty } from './generators';

jest.setTimeout(300_000);

/** Inputs per endpoint; `npm run test:fuzz` raises it (AGF_FUZZ_RUNS) to ≥ 10,000 in all. */
const RUNS = Number(process.env['AGF_FUZZ_RUNS'] ?? 500);

/** A valid request with some fields replaced, dropped or added: close to valid is where bugs hide. */
const mutatedRequest = fc
  .record({
    replace: fc.dictionary(fc.constantFrom('projectId', 'componentName', 'version', 'changes', 'riskIndicators', 'requester', 'timestamp', 'metadata'), fc.oneof(nasty, edgeTime), { maxKeys: 3 }),
    drop: fc.subarray(['projectId', 'componentName', 'version', 'changes', 'riskIndicators', 'requester']),
    indicators: fc.dictionary(fc.constantFrom('codeChanges', 'userImpact', 'vulnerabilities', 'affectedProjects', 'completionPercentage', 'la', 'fix', 'custom'), nasty, { maxKeys: 3 }),
    extra: fc.option(fc.tuple(fc.string({ maxLength: 12 }), nasty)),
  })
  .map(({ replace, drop, indicators, extra }) => {
    const body: Record<string, unknown> = { ...aDeploymentRequestInput(), ...replace };
    body['riskIndicators'] = { ...(aDeploymentRequestInput().riskIndicators as object), ...indicators };
    for (const key of drop) delete body[key];
    if (extra) body[extra[0]] = extra[1];
    return JSON.stringify(body);
  });

const deep = fc.integer({ min: 30, max: 3000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype').map((key) => `{"projectId":"p","metadata":{"${key}":{"polluted":true}},"${key}":{"x":1}}`);
const truncated = fc.integer({ min: 0, max: 200 }).map((n) => JSON.stringify(aDeploymentRequestInput()).slice(0, n));
const hugeArray = fc.integer({ min: 1001, max: 3000 }).map((n) => JSON.stringify({ ...aDeploymentRequestInput(), changes: Array.from({ length: n }, () => 'x') }));
const anyJson = fc.json({ maxDepth: 4 });
const validRequest = fc
  .record({ projectId: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/), componentName: fc.string({ minLength: 1, maxLength: 40 }), changes: fc.array(fc.string({ maxLength: 80 }), { maxLength: 5 }) })
  .map((overrides) => JSON.stringify(aDeploymentRequestInput(overrides)));
/** A valid request with a NUL character or an unpaired surrogate in one of its strings: valid JSON, which Postgres cannot store. */
const withUnstorable = fc
  .record({
    field: fc.constantFrom('componentName', 'requester', 'version'),
    before: fc.string({ maxLength: 8 }),
    bad: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ude80\ud83d'),
    after: fc.string({ maxLength: 8 }),
  })
  .map(({ field, before, bad, after }) => JSON.stringify({ ...aDeploymentRequestInput(), [field]: `${before}${bad}${after}` }));
const body = fc.oneof(validRequest, mutatedRequest, withUnstorable, anyJson, deep, protoKeys, truncated, hugeArray, fc.string());
const contentType = fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/cloudevents+json', '');

/**
 * Every input is sent with a valid credential (a submitter of every project, the requester of
 * `aDeploymentRequestInput`; a reviewer bound to an expert for answers), so that what is refused is refused for
 * its content.
 */
describe('fuzzing intake with generated bad input', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  /** `forbidden403`, of the 4xx: a requester not the credential's subject, an answer for an expert not the reviewer's. */
  const counts = { sent: 0, accepted: 0, rejected4xx: 0, forbidden403: 0, server5xx: 0 };
  /** `Authorization` of the pipeline (submissions, outcomes, reads) and of a reviewer (answers). */
  let submitter: string;
  let reviewer: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    const identity = await testIdentity();
    submitter = await identity.bearer({ sub: aDeploymentRequestInput().requester, roles: ['submitter'], projects: ['*'] }, { expiresIn: 3600 });
    // Bound to security_expert_human in agf-config.yaml, the policy intake starts with here.
    reviewer = await identity.bearer({ sub: 'alice', roles: ['reviewer'] }, { expiresIn: 3600 });
    const unlimited = { AGF_RATE_LIMIT_PER_MINUTE: '1000000', AGF_RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '1000000' };
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: unlimited });
  });

  afterAll(async () => {
    console.log(`fuzz: ${JSON.stringify(counts)}`);
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  async function send(path: string, text: string, type: string): Promise<number> {
    const authorization = path.endsWith('/reviews') ? reviewer : submitter;
    const response = await fetch(`${intake.url}${path}`, { method: 'POST', headers: { authorization, ...(type ? { 'content-type': type } : {}) }, body: text });
    counts.sent += 1;
    if (response.status >= 500) counts.server5xx += 1;
    else if (response.status >= 400) counts.rejected4xx += 1;
    else counts.accepted += 1;
    if (response.status === 403) counts.forbidden403 += 1;
    if (response.status >= 400) expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // Every input carries a valid credential: a 401 would mean the input was never judged on its content.
    expect(response.status).not.toBe(401);
    await response.arrayBuffer();
    return response.status;
  }

  async function submit(projectId: string): Promise<string> {
    const headers = { authorization: submitter, 'content-type': 'application/json' };
    const response = await fetch(`${intake.url}/v1/deployment-requests`, { method: 'POST', headers, body: JSON.stringify(aDeploymentRequestInput({ projectId })) });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  }

  async function status(requestId: string): Promise<string> {
    return ((await (await fetch(`${intake.url}/v1/deployment-requests/${requestId}`, { headers: { authorization: submitter } })).json()) as { status: string }).status;
  }

  it('answers every generated submission with 202 or a 4xx problem, never a 5xx, and stores only what it accepted', async () => {
    await fc.assert(
      fc.asyncProperty(body, contentType, async (text, type) => {
        const status = await send('/v1/deployment-requests', text, type);
        expect(status).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
    expect(counts.accepted).toBeGreaterThan(0);
    const stored = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests'))[0]!.n);
    expect(stored).toBe(counts.accepted);
  });

  it('answers generated reviews and outcomes with 4xx (202 for a valid outcome of a decided request), never a 5xx', async () => {
    const known = await submit('fuzz-undecided');
    // A decided request lets outcomes get past the state checks, to where they are stored.
    const decided = await submit('fuzz-decided');
    await nats.publishEvent('decision.made', aDecision({ requestId: decided, projectId: 'fuzz-decided' }), { correlationId: decided, source: 'coe' });
    await eventually(async () => expect(await status(decided)).toBe('decided'));
    const ids = fc.constantFrom(known, decided, decided, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', '..%2F..%2Fetc', "1'or'1");
    const reviewBody = fc.oneof(
      anyJson,
      protoKeys,
      fc.record({ assignmentId: fc.oneof(fc.uuid(), nasty), expertId: nasty, decision: fc.oneof(fc.constantFrom('approve', 'reject', 'conditional'), nasty), comments: nasty }).map((r) => JSON.stringify(r)),
    );
    const outcomeBody = fc.oneof(
      anyJson,
      protoKeys,
      fc.record({ status: fc.oneof(fc.constantFrom('succeeded', 'failed', 'rolled_back'), nasty), reportedAt: fc.oneof(nasty, edgeTime) }).map((r) => JSON.stringify(r)),
      fc
        .record({ status: fc.constantFrom('succeeded', 'failed', 'rolled_back'), reportedAt: edgeTime, details: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), anyJson), { nil: undefined }) }, { requiredKeys: ['status'] })
        .map((r) => JSON.stringify(r)),
    );
    await fc.assert(
      fc.asyncProperty(ids, fc.boolean(), reviewBody, outcomeBody, contentType, async (id, review, rBody, oBody, type) => {
        const status = review ? await send(`/v1/deployment-requests/${id}/reviews`, rBody, type) : await send(`/v1/deployment-requests/${id}/outcome`, oBody, type);
        if (review || id !== decided) expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers generated outcomes of a decided request with 202 or a 4xx, never a 5xx (they reach the store)', async () => {
    const requestId = await submit('fuzz-outcomes');
    await nats.publishEvent('decision.made', aDecision({ requestId, projectId: 'fuzz-outcomes' }), { correlationId: requestId, source: 'coe' });
    await eventually(async () => expect(await status(requestId)).toBe('decided'));
    const detail = fc.oneof(anyJson, fc.constantFrom('crash\u0000dump', { nested: ['\u0000'] }, 'half a \ud83d'));
    const outcome = fc
      .record({ status: fc.constantFrom('succeeded', 'failed', 'rolled_back'), reportedAt: edgeTime, details: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), detail), { nil: undefined }) }, { requiredKeys: ['status'] })
      .map((r) => JSON.stringify(r));
    await fc.assert(
      fc.asyncProperty(outcome, async (text) => expect(await send(`/v1/deployment-requests/${requestId}/outcome`, text, 'application/json')).toBeLessThan(500)),
      { numRuns: Math.max(100, Math.floor(RUNS / 4)) },
    );
  });

  it('answers every generated NATS submission with exactly one accepted request or one rejection', async () => {
    const texts = fc.sample(fc.oneof(mutatedRequest, anyJson, protoKeys, truncated, fc.string()), Math.max(100, Math.floor(RUNS / 2)));
    const before = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests'))[0]!.n);
    await Promise.all(texts.map((text, i) => nats.publish('agf.v1.intake.submit', text, `fuzz-${i}`, { Authorization: submitter })));
    counts.sent += texts.length;
    await eventually(async () => {
      const rejected = (await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.>')).length;
      const stored = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests'))[0]!.n) - before;
      expect(rejected + stored).toBe(texts.length);
    }, 60_000, 500);
    // Every submission carried a valid credential of a submitter of every project: none was refused for it.
    const refusedCredentials = (await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.>')).filter((m) =>
      m.json<{ data: { errors: Array<{ path: string }> } }>().data.errors.some((e) => e.path === 'Authorization'),
    );
    expect(refusedCredentials).toEqual([]);
    expect((await fetch(`${intake.url}/health/ready`)).status).toBe(200);
    expect(await nats.read('AGF_DLQ')).toHaveLength(0);
  });
});
