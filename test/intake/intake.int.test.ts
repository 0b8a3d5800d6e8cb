import { randomUUID } from 'node:crypto';
import { cloudEventSchema, type CloudEvent, DeploymentRequestView, PendingDecision, SubmissionAccepted } from '@agf/contracts';
import { aDecision, aDeploymentRequestInput, aRiskAssessment } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, testIdentity } from '@agf/testing';

jest.setTimeout(60_000);

describe('intake service (real NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  /** The pipeline `ci-bot` (the builders' requester), a submitter of every project; an auditor reads. */
  let submitter: Record<string, string>;
  let auditor: Record<string, string>;
  let natsCredential: Record<string, string>;

  const post = (body: unknown, headers: Record<string, string> = {}, path = '/v1/deployment-requests') =>
    fetch(`${intake.url}${path}`, {
      method: 'POST',
      headers: { ...submitter, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string) => fetch(`${intake.url}${path}`, { headers: auditor });
  const publishSubmission = (body: string, msgId: string) => nats.publish('agf.v1.intake.submit', body, msgId, natsCredential);
  const requested = () => nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.>');
  const storedRequests = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests'))[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix });
    const identity = await testIdentity();
    submitter = await identity.headers({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] }, { expiresIn: 3600 });
    auditor = await identity.headers({ sub: 'auditor-1', roles: ['auditor'] }, { expiresIn: 3600 });
    natsCredential = { Authorization: submitter['authorization']! };
  });

  afterAll(async () => {
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('turns one HTTP request into exactly one deployment.requested CloudEvent', async () => {
    const input = aDeploymentRequestInput({ projectId: 'http-project' });
    const response = await post(input);
    expect(response.status).toBe(202);
    const { id, status } = SubmissionAccepted.parse(await response.json());
    expect(status).toBe('received');

    const events = await eventually(async () => {
      const found = (await requested()).filter((m) => m.subject === 'agf.v1.deployment.requested.http-project');
      expect(found).toHaveLength(1);
      return found;
    });
    const event = cloudEventSchema('deployment.requested').parse(events[0]!.json()) as CloudEvent<'deployment.requested'>;
    expect(event).toMatchObject({ specversion: '1.0', source: 'agf/intake', type: 'io.agf.deployment.requested.v1', subject: id, correlationid: id });
    expect(event.data).toMatchObject({ requestId: id, projectId: 'http-project', receivedVia: 'http', requester: 'ci-bot' });
    expect(event.data.actor).toEqual({ subject: 'ci-bot', issuer: (await testIdentity()).issuer, channel: 'http' });
    expect(events[0]!.headers['Nats-Msg-Id']).toBe(event.id);
    expect(events[0]!.headers['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    const view = DeploymentRequestView.parse(await (await get(`/v1/deployment-requests/${id}`)).json());
    expect(view).toMatchObject({ id, status: 'received', projectId: 'http-project', assignments: [], decision: null });
  });

  it('turns one NATS submission into exactly one deployment.requested CloudEvent', async () => {
    const input = aDeploymentRequestInput({ projectId: 'nats-project' });
    await publishSubmission(JSON.stringify(input), 'pipeline-run-1');
    const events = await eventually(async () => {
      const found = (await requested()).filter((m) => m.subject === 'agf.v1.deployment.requested.nats-project');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(events[0]!.json<CloudEvent<'deployment.requested'>>().data).toMatchObject({ receivedVia: 'nats', requester: 'ci-bot', actor: { subject: 'ci-bot', channel: 'nats' } });
  });

  const tooLarge = JSON.stringify({ ...aDeploymentRequestInput(), changes: ['x'.repeat(1024 * 1024)] });
  // Under the 1 MiB body limit, over the 768 KiB a stored request may have (its events must fit in a NATS message).
  const overStoredLimit = (projectId = 'p') => ({ ...aDeploymentRequestInput({ projectId }), changes: Array.from({ length: 400 }, (_, i) => `${i}`.padEnd(2040, 'x')) });
  it.each([
    ['wrong types', { ...aDeploymentRequestInput(), changes: 'not-an-array', riskIndicators: { codeChanges: 'many' } }, 400, ['changes', 'riskIndicators.codeChanges']],
    ['missing fields', { projectId: 'p' }, 400, ['componentName', 'version', 'changes', 'riskIndicators']],
    ['a projectId outside [A-Za-z0-9_-]{1,128}', aDeploymentRequestInput({ projectId: 'bad.project>*' }), 400, ['projectId']],
    ['a projectId too long', aDeploymentRequestInput({ projectId: 'p'.repeat(129) }), 400, ['projectId']],
    ['NUL characters (Postgres cannot store them)', { ...aDeploymentRequestInput(), componentName: 'api\u0000', changes: ['ok', 'x\u0000y'] }, 400, ['componentName', 'changes.1']],
    ['an unpaired surrogate (Postgres cannot store one either)', { ...aDeploymentRequestInput(), requester: 'bot\ud800' }, 400, ['requester']],
    ['a timestamp in year 0000 (Postgres has none)', aDeploymentRequestInput({ timestamp: '0000-01-01T00:00:00Z' }), 400, ['timestamp']],
    ['a userImpact outside the enum', { ...aDeploymentRequestInput(), riskIndicators: { userImpact: 'apocalyptic' } }, 400, ['riskIndicators.userImpact']],
    ['malformed JSON', '{"projectId": "p", ', 400, ['(body)']],
    ['a __proto__ key', '{"projectId":"p","__proto__":{"admin":true}}', 400, ['__proto__']],
    ['a nested constructor key', JSON.stringify({ ...aDeploymentRequestInput(), metadata: { constructor: { prototype: {} } } }), 400, ['metadata.constructor']],
    ['an unknown top-level field', { ...aDeploymentRequestInput(), sneaky: 1 }, 400, ['(root)']],
    ['a body over 1 MiB', tooLarge, 413, []],
    ['a request over 768 KiB as stored', overStoredLimit(), 413, ['(body)']],
  ])('rejects %s with problem+json and stores and publishes nothing', async (_case, body, status, paths) => {
    const before = { rows: await storedRequests(), events: (await requested()).length };
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { status: number; errors?: { path: string }[] };
    expect(problem.status).toBe(status);
    const named = (problem.errors ?? []).map((e) => e.path);
    for (const path of paths) expect(named).toContain(path);
    expect(await storedRequests()).toBe(before.rows);
    expect((await requested()).length).toBe(before.events);
  });

  it('answers a non-JSON content type with 415', async () => {
    const response = await fetch(`${intake.url}/v1/deployment-requests`, { method: 'POST', headers: { ...submitter, 'content-type': 'text/plain' }, body: 'hello' });
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('rejects bad input over NATS with intake.rejected naming the errors, storing nothing', async () => {
    const before = await storedRequests();
    await publishSubmission(JSON.stringify({ projectId: 'nats-bad', version: 7 }), 'bad-1');
    await publishSubmission('{not json', 'bad-2');
    const rejected = await eventually(async () => {
      const found = await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.>');
      expect(found).toHaveLength(2);
      return found;
    });
    const bySubject = Object.fromEntries(rejected.map((m) => [m.subject, m.json<CloudEvent<'intake.rejected'>>().data]));
    expect(bySubject['agf.v1.intake.rejected.nats-bad']!.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['version', 'componentName']));
    expect(bySubject['agf.v1.intake.rejected._invalid']!.errors[0]!.message).toMatch(/not valid JSON/);
    expect(await storedRequests()).toBe(before);
  });

  it('rejects a request too large to publish over NATS with intake.rejected, storing nothing', async () => {
    const before = await storedRequests();
    await publishSubmission(JSON.stringify(overStoredLimit('nats-huge')), 'huge-1');
    const rejected = await eventually(async () => {
      const found = (await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.nats-huge')).map((m) => m.json<CloudEvent<'intake.rejected'>>().data);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(rejected.errors).toEqual([{ path: '(body)', message: expect.stringMatching(/at most 786432 are accepted/) }]);
    expect(await storedRequests()).toBe(before);
  });

  it('answers an outcome whose event would be too large to publish with 413, storing and publishing nothing', async () => {
    const { id } = (await (await post(aDeploymentRequestInput({ projectId: 'outcome-huge' }))).json()) as { id: string };
    await nats.publishEvent('decision.made', aDecision({ requestId: id, projectId: 'outcome-huge' }), { correlationId: id, source: 'coe' });
    await eventually(async () => expect(((await (await get(`/v1/deployment-requests/${id}`)).json()) as { status: string }).status).toBe('decided'));
    const report = (details?: object) => post({ status: 'succeeded', ...(details ? { details } : {}) }, {}, `/v1/deployment-requests/${id}/outcome`);
    const outcomes = () => nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.outcome.outcome-huge');

    // Under the 1 MiB body limit; with its envelope over what one NATS message may carry.
    const tooLarge = await report({ log: 'x'.repeat(1_045_000) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await tooLarge.json()) as { detail: string }).detail).toMatch(/deployment.outcome would be \d+ bytes/);
    expect(await db.query(`SELECT 1 FROM intake.outcomes WHERE request_id = $1`, [id])).toHaveLength(0);

    const nul = await post({ status: 'failed', details: { log: 'crash\u0000dump' } }, {}, `/v1/deployment-requests/${id}/outcome`);
    expect(nul.status).toBe(400);
    expect(((await nul.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['details.log']);
    // A time Postgres cannot store (there is no year 0000) is bad input, not a server error.
    const yearZero = await post({ status: 'succeeded', reportedAt: '0000-01-01T00:00:00Z' }, {}, `/v1/deployment-requests/${id}/outcome`);
    expect(yearZero.status).toBe(400);
    expect(((await yearZero.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['reportedAt']);

    expect((await report({ log: 'short' })).status).toBe(202);
    await eventually(async () => expect(await outcomes()).toHaveLength(1));
    expect(await db.query(`SELECT 1 FROM intake.outcomes WHERE request_id = $1`, [id])).toHaveLength(1);
    expect((await outcomes())[0]!.json<CloudEvent<'deployment.outcome'>>().data.actor).toMatchObject({ subject: 'ci-bot', channel: 'http' });
  });

  it('rejects a NATS submission whose Nats-Msg-Id could not be its idempotency key (too long, or a NUL in it), storing nothing', async () => {
    const before = await storedRequests();
    // Random, so that Postgres cannot compress it below its index row limit (a repeated character would fit).
    const longId = Array.from({ length: 10_000 }, () => Math.random().toString(36).charAt(2)).join('');
    await publishSubmission(JSON.stringify(aDeploymentRequestInput({ projectId: 'nats-long-id' })), longId);
    const rejected = await eventually(async () => {
      const found = await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.nats-long-id');
      expect(found).toHaveLength(1);
      return found[0]!.json<CloudEvent<'intake.rejected'>>();
    });
    expect(rejected.data.errors).toEqual([{ path: 'Nats-Msg-Id', message: 'expected at most 256 characters, got 10000' }]);
    expect(rejected.data.natsMsgId).toBeUndefined();
    expect(rejected.correlationid).toMatch(/^intake\.submit:\d+$/);
    expect(await storedRequests()).toBe(before);

    // A NUL character in the id could not be stored either (NATS carries it in the header).
    await publishSubmission(JSON.stringify(aDeploymentRequestInput({ projectId: 'nats-nul-id' })), 'run-\u0000-1');
    const nulRejected = await eventually(async () => {
      const found = await nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.nats-nul-id');
      expect(found).toHaveLength(1);
      return found[0]!.json<CloudEvent<'intake.rejected'>>();
    });
    expect(nulRejected.data.errors).toEqual([{ path: 'Nats-Msg-Id', message: expect.stringMatching(/NUL character/) }]);
    expect(await storedRequests()).toBe(before);
  });

  it('creates one request when retries with one Idempotency-Key race each other', async () => {
    const input = aDeploymentRequestInput({ projectId: 'idem-project' });
    const responses = await Promise.all(Array.from({ length: 12 }, () => post(input, { 'Idempotency-Key': 'build-4711' })));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(new Set(ids).size).toBe(1);
    expect((await db.query(`SELECT id FROM intake.requests WHERE project_id = 'idem-project'`)).length).toBe(1);
    await eventually(async () => expect((await requested()).filter((m) => m.subject.endsWith('.idem-project'))).toHaveLength(1));
    const reused = await post({ ...input, version: '9.9.9' }, { 'Idempotency-Key': 'build-4711' });
    expect(reused.status).toBe(422);
  });

  it('answers unknown ids with 404 and a pending decision with 202 after the wait', async () => {
    expect((await get(`/v1/deployment-requests/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await get(`/v1/deployment-requests/not-a-uuid`)).status).toBe(404);
    const { id } = (await (await post(aDeploymentRequestInput())).json()) as { id: string };
    const started = Date.now();
    const pending = await get(`/v1/deployment-requests/${id}/decision?waitSeconds=1`);
    expect(pending.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(PendingDecision.parse(await pending.json())).toEqual({ id, status: 'received', decision: null });
    expect((await get(`/v1/deployment-requests/${id}/decision?waitSeconds=61`)).status).toBe(400);
  });

  it('answers a long-poll that ends without a decision with the status the request has reached meanwhile', async () => {
    const { id } = SubmissionAccepted.parse(await (await post(aDeploymentRequestInput({ projectId: 'long-poll-status' }))).json());
    const { request } = DeploymentRequestView.parse(await (await get(`/v1/deployment-requests/${id}`)).json());
    const waiting = get(`/v1/deployment-requests/${id}/decision?waitSeconds=3`);
    await nats.publishEvent('risk.assessed', aRiskAssessment(request), { correlationId: id, source: 'risk' });
    const pending = await waiting;
    expect(pending.status).toBe(202);
    expect(PendingDecision.parse(await pending.json())).toEqual({ id, status: 'assessing', decision: null });
  });

  it('shows an assignment as pending, and one announced after the decision (streams are independent) as cancelled', async () => {
    const submit = async (projectId: string) => ((await (await post(aDeploymentRequestInput({ projectId }))).json()) as { id: string }).id;
    const view = async (id: string) => DeploymentRequestView.parse(await (await get(`/v1/deployment-requests/${id}`)).json());
    const assigned = (requestId: string, projectId: string) => {
      const now = new Date();
      return {
        requestId,
        projectId,
        assignmentId: randomUUID(),
        expertId: 'security_expert_human',
        expertType: 'security' as const,
        expertKind: 'human' as const,
        role: 'standard' as const,
        scope: ['security'],
        tierLevel: 1 as const,
        priority: 'normal' as const,
        slaHours: 24,
        assignedAt: now.toISOString(),
        slaDueAt: new Date(now.getTime() + 24 * 3600_000).toISOString(),
      };
    };
    const open = await submit('read-model-open');
    const early = assigned(open, 'read-model-open');
    await nats.publishEvent('review.assigned', early, { correlationId: open, source: 'coe' });
    await eventually(async () => expect(await view(open)).toMatchObject({ status: 'in_review', assignments: [{ id: early.assignmentId, status: 'pending' }] }));

    const decided = await submit('read-model-decided');
    await nats.publishEvent('decision.made', aDecision({ requestId: decided, projectId: 'read-model-decided' }), { correlationId: decided, source: 'coe' });
    await eventually(async () => expect((await view(decided)).status).toBe('decided'));
    const late = assigned(decided, 'read-model-decided');
    await nats.publishEvent('review.assigned', late, { correlationId: decided, source: 'coe' });
    await eventually(async () => expect(await view(decided)).toMatchObject({ status: 'decided', assignments: [{ id: late.assignmentId, status: 'cancelled' }] }));
  });

  it('serves OpenAPI at /docs and counts requests in /metrics', async () => {
    const ui = await get('/docs');
    expect(ui.status).toBe(200);
    const page = await ui.text();
    expect(page).toContain('/docs-json');
    // The page's own assets are served too, or the UI is a blank page.
    const assets = page.match(/\/docs\/[\w.-]+\.(js|css)/g) ?? [];
    expect(assets).toHaveLength(2);
    for (const asset of assets) expect({ asset, status: (await get(asset)).status }).toEqual({ asset, status: 200 });
    const openapi = (await (await get('/docs-json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/deployment-requests', '/v1/deployment-requests/{id}/reviews']));
    expect(await (await get('/docs-yaml')).text()).toContain('/v1/deployment-requests/{id}/outcome:');
    // The API's description is for callers only, like the API.
    expect((await fetch(`${intake.url}/docs-json`)).status).toBe(401);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/agf_http_requests_total\{method="POST",route="\/v1\/deployment-requests",status="202",service="intake"\} \d+/);
    expect(metrics).toMatch(/agf_messages_total\{consumer="intake\/AGF_INTAKE",message="intake.submit",result="processed"/);
    // Every submission above cost statements: the counter is read from the pg client, not estimated.
    const statements = Number(/agf_db_statements_total\{service="intake"\} (\d+)/.exec(metrics)?.[1]);
    await get(`/v1/deployment-requests/${randomUUID()}`);
    const after = await (await get('/metrics')).text();
    expect(Number(/agf_db_statements_total\{service="intake"\} (\d+)/.exec(after)?.[1])).toBeGreaterThan(statements);
    // Answers no route gave are counted too, under one label rather than their URLs.
    expect((await get(`/v1/no-such-thing/${randomUUID()}`)).status).toBe(404);
    const unmatched = await (await get('/metrics')).text();
    expect(unmatched).toMatch(/agf_http_requests_total\{method="GET",route="unmatched",status="404",service="intake"\} \d+/);
    expect(unmatched).toMatch(/agf_http_requests_total\{method="GET",route="\/v1\/deployment-requests\/:id",status="404",service="intake"\} \d+/);
  });
});
