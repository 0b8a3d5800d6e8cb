import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CloudEvent, createEvent, type DeploymentRequest, type RiskAssessed, subjectFor } from '@agf/contracts';
import { aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { ExpertRegistryReplica } from '@agf/platform';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, type TestIdentity, type TestPrincipal, testIdentity } from '@agf/testing';

jest.setTimeout(120_000);

const FIXTURE = join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml');
/** The experts the fixture configures. */
const CONFIGURED = 12;

const admin: TestPrincipal = { sub: 'ops-admin', roles: ['admin'] };
const auditor: TestPrincipal = { sub: 'ops-auditor', roles: ['auditor'] };

function assessed(request: DeploymentRequest, overallScore = 0.5): RiskAssessed {
  return aRiskAssessment(request, { overallScore, securityScore: 0.6, complexityScore: 0.2, impactScore: 0.2, historicalScore: 0.3, confidence: 0.75 });
}

const definition = (overrides: Record<string, unknown> = {}) => ({
  expertType: 'security',
  kind: 'human',
  level: 'standard',
  runtime: 'builtin',
  specialties: [] as string[],
  capacity: 5,
  principal: [] as string[],
  ...overrides,
});

describe('expert registry managed through the API (real coe, compliance, NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let coe: ServiceProcess;
  let compliance: ServiceProcess;
  let identity: TestIdentity;
  let replica: ExpertRegistryReplica;
  const temporary: string[] = [];
  /** A request whose architecture review architect_human (of the config) holds. */
  let heldByArchitect: DeploymentRequest;

  beforeAll(async () => {
    identity = await testIdentity();
    db = await createTestDatabase();
    nats = await TestNats.connect();
    const options = { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: FIXTURE } };
    [coe, compliance] = await Promise.all([ServiceProcess.start('coe', options), ServiceProcess.start('compliance', options)]);
    replica = new ExpertRegistryReplica();
    await replica.start(nats.nc, nats.namespace);
  });

  afterAll(async () => {
    await replica?.stop();
    await coe?.stop();
    await compliance?.stop();
    await nats?.cleanup();
    await db?.drop();
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, who: TestPrincipal | undefined, body?: unknown) => {
    const headers: Record<string, string> = who ? await identity.headers(who) : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${coe.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };
  const registryEvents = async () => (await nats.read('AGF_REGISTRY', 'agf.v1.registry.expert.changed.>')).map((m) => m.json<CloudEvent<'registry.expert.changed'>>());
  const submit = async (request: DeploymentRequest) => {
    const data = assessed(request);
    const event = createEvent({ name: 'risk.assessed', source: 'test', correlationId: request.requestId, data });
    await nats.publish(subjectFor('risk.assessed', request.projectId), JSON.stringify(event), event.id);
  };
  const reviewEvents = async <N extends 'review.assigned' | 'review.cancelled' | 'review.completed'>(name: N, requestId: string) =>
    (await nats.read('AGF_REVIEW', `agf.v1.${name}.>`)).map((m) => m.json<CloudEvent<N>>()).filter((e) => e.data.requestId === requestId);
  /** The human reviewer of this type a new tier 1 request is routed to. */
  const humanFor = async (request: DeploymentRequest, expertType = 'security') => {
    await submit(request);
    return eventually(async () => {
      const humans = (await reviewEvents('review.assigned', request.requestId)).filter((e) => e.data.expertKind === 'human' && e.data.expertType === expertType);
      expect(humans).toHaveLength(1);
      return humans[0]!.data;
    });
  };
  const securityChange = (projectId: string, extra: Partial<DeploymentRequest> = {}) =>
    aDeploymentRequest({ projectId, changes: ['src/auth/session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true }, ...extra });

  it('seeds agf-config.yaml once: one registry.expert.changed per real change, however many replicas start at once', async () => {
    const seeded = await eventually(async () => {
      const events = (await registryEvents()).filter((e) => e.data.source === 'config');
      expect(events).toHaveLength(CONFIGURED);
      return events;
    });
    expect(seeded.find((e) => e.data.expertId === 'security_expert_human')!.data).toMatchObject({
      change: 'upserted',
      expert: { id: 'security_expert_human', expertType: 'security', kind: 'human', principal: ['security_expert_human'], available: true, away: null, capacity: 10 },
    });
    // One config entry changes; two replicas start with it at the same moment.
    const changed = join(mkdtempSync(join(tmpdir(), 'agf-registry-')), 'agf-config.yaml');
    temporary.push(dirname(changed));
    const yaml = readFileSync(FIXTURE, 'utf8');
    const entry = '      specialties: ["compliance", "risk_assessment"]\n      capacity: 10\n';
    expect(yaml).toContain(entry);
    writeFileSync(changed, yaml.replace(entry, '      specialties: ["compliance", "risk_assessment"]\n      capacity: 12\n'));
    await coe.stop();
    const [second] = await Promise.all([
      ServiceProcess.start('coe', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: changed } }),
      coe.restart({ AGF_CONFIG: changed }),
    ]);
    try {
      const again = await eventually(async () => {
        const events = (await registryEvents()).filter((e) => e.data.source === 'config');
        expect(events).toHaveLength(CONFIGURED + 1);
        return events;
      });
      expect(again.at(-1)!.data).toMatchObject({ expertId: 'security_expert_human', expert: { capacity: 12 } });
    } finally {
      await second.stop();
    }
    await coe.stop();
    await coe.restart();
    // Back to the fixture: that entry changed again, once; nothing else did.
    await eventually(async () => expect((await registryEvents()).filter((e) => e.data.source === 'config')).toHaveLength(CONFIGURED + 2));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await registryEvents()).filter((e) => e.data.source === 'config')).toHaveLength(CONFIGURED + 2);
  });

  it('adds an expert through the API without a restart: the next request routes to it by specialty, and its reviewer answers', async () => {
    const created = await call('PUT', '/v1/experts/zz_security_api', admin, definition({ name: 'Ana API', specialties: ['access_control'], principal: ['api-reviewer'], email: 'ana@example.com' }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'zz_security_api', source: 'api', active: true, available: true, away: null, openReviews: 0, email: 'ana@example.com' });
    expect((await call('PUT', '/v1/experts/zz_security_api', admin, definition({ name: 'Ana API', specialties: ['access_control'], principal: ['api-reviewer'], email: 'ana@example.com' }))).status).toBe(200);
    expect((await call('GET', '/v1/experts/zz_security_api', auditor)).body).toMatchObject({ id: 'zz_security_api', specialties: ['access_control'] });

    // security_expert_human has no matching specialty; the new expert's id sorts last, so only its specialty picks it.
    const request = securityChange('registry-add');
    const human = await humanFor(request);
    expect(human.expertId).toBe('zz_security_api');
    // Bound through the registry table, not the config: its reviewer's answer counts.
    const answer = createEvent({
      name: 'review.submit',
      source: 'test',
      correlationId: request.requestId,
      data: { requestId: request.requestId, projectId: request.projectId, assignmentId: human.assignmentId, expertId: human.expertId, decision: 'approve', comments: 'ok', conditions: [], submittedAt: new Date().toISOString() },
    });
    await nats.publish(subjectFor('review.submit', request.projectId), JSON.stringify(answer), answer.id, { Authorization: await identity.bearer({ sub: 'api-reviewer', roles: ['reviewer'] }) });
    await eventually(async () => {
      const completed = (await reviewEvents('review.completed', request.requestId)).filter((e) => e.data.expertId === 'zz_security_api');
      expect(completed.map((e) => e.data.actor?.subject)).toEqual(['api-reviewer']);
    });

    // Announced once for the change (the identical second PUT changed nothing), with the verified admin.
    const events = (await registryEvents()).filter((e) => e.data.expertId === 'zz_security_api');
    expect(events.map((e) => [e.data.change, e.data.source, e.data.actor?.subject])).toEqual([['upserted', 'api', 'ops-admin']]);
    // Compliance audits every registry change.
    await eventually(async () => {
      const audited = await db.query<{ event_id: string }>(`SELECT "event_id" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1`, ['zz_security_api']);
      expect(audited.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
    });
  });

  it('routes among two experts of one type by specialty, whatever their load or ids', async () => {
    expect((await call('PUT', '/v1/experts/zz_database_architect', admin, definition({ expertType: 'architecture', specialties: ['database'], principal: ['dba'] }))).status).toBe(201);
    const migration = aDeploymentRequest({ projectId: 'registry-specialty', changes: ['db/migrations/0042_orders.sql'], riskIndicators: { affectedProjects: ['billing'], testsPassed: true } });
    const plain = aDeploymentRequest({ projectId: 'registry-specialty', changes: ['src/orders.ts'], riskIndicators: { affectedProjects: ['billing'], testsPassed: true } });
    expect((await humanFor(migration, 'architecture')).expertId).toBe('zz_database_architect');
    // Without a database change, both are equal by specialty and the less loaded (then the smaller id) takes it.
    expect((await humanFor(plain, 'architecture')).expertId).toBe('architect_human');
    heldByArchitect = plain;
  });

  it('does not route to an expert marked unavailable or away, which its own reviewer may set; capacity is respected', async () => {
    expect((await call('PUT', '/v1/experts/zz_security_busy', admin, definition({ specialties: ['access_control', 'secret_detection'], principal: ['busy-reviewer'], capacity: 1 }))).status).toBe(201);
    // Its own reviewer marks it unavailable: the best match is skipped.
    const off = await call('PUT', '/v1/experts/zz_security_busy/availability', { sub: 'busy-reviewer', roles: ['reviewer'] }, { available: false });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ available: false, away: null });
    expect((await humanFor(securityChange('registry-unavailable'))).expertId).not.toBe('zz_security_busy');
    // Away now (set by an admin): still skipped.
    const away = { from: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 3_600_000).toISOString() };
    expect((await call('PUT', '/v1/experts/zz_security_busy/availability', admin, { available: true, away })).status).toBe(200);
    expect((await humanFor(securityChange('registry-away'))).expertId).not.toBe('zz_security_busy');
    // Back: it takes the next one, and being at capacity (1), not the one after.
    expect((await call('PUT', '/v1/experts/zz_security_busy/availability', admin, { available: true, away: null })).status).toBe(200);
    expect((await humanFor(securityChange('registry-back'))).expertId).toBe('zz_security_busy');
    expect((await humanFor(securityChange('registry-full'))).expertId).not.toBe('zz_security_busy');
    const changes = (await registryEvents()).filter((e) => e.data.expertId === 'zz_security_busy').map((e) => [e.data.expert?.available, e.data.expert?.away ? 'away' : null, e.data.actor?.subject]);
    expect(changes).toEqual([
      [true, null, 'ops-admin'],
      [false, null, 'busy-reviewer'],
      [true, 'away', 'ops-admin'],
      [true, null, 'ops-admin'],
    ]);
  });

  it('hands the pending reviews of an expert who becomes unavailable or is removed to another, in one transaction', async () => {
    expect((await call('PUT', '/v1/experts/zz_security_leaving', admin, definition({ specialties: ['access_control', 'secret_detection', 'authentication'], principal: ['leaving'] }))).status).toBe(201);
    const first = securityChange('registry-handover');
    const second = securityChange('registry-handover');
    expect((await humanFor(first)).expertId).toBe('zz_security_leaving');
    expect((await humanFor(second)).expertId).toBe('zz_security_leaving');

    expect((await call('PUT', '/v1/experts/zz_security_leaving/availability', admin, { available: false })).status).toBe(200);
    const moved = await eventually(async () => {
      const cancelled = await reviewEvents('review.cancelled', first.requestId);
      expect(cancelled).toHaveLength(1);
      return cancelled[0]!.data;
    });
    expect(moved).toMatchObject({ expertId: 'zz_security_leaving', reason: 'expert-unavailable' });
    const replacement = (await reviewEvents('review.assigned', first.requestId)).find((e) => e.data.assignmentId === moved.replacedByAssignmentId)!.data;
    expect(replacement).toMatchObject({ supersedesAssignmentId: moved.assignmentId, role: 'standard', expertType: 'security' });
    expect(replacement.expertId).not.toBe('zz_security_leaving');

    expect((await call('DELETE', '/v1/experts/zz_security_leaving', admin)).status).toBe(204);
    expect((await call('DELETE', '/v1/experts/zz_security_leaving', admin)).status).toBe(204);
    // The second request was handed over already when the expert became unavailable.
    expect((await reviewEvents('review.cancelled', second.requestId)).map((e) => e.data.reason)).toEqual(['expert-unavailable']);
    const [row] = await db.query<{ open_reviews: number; active: boolean }>(`SELECT "open_reviews", "active" FROM "coe"."experts" WHERE "id" = $1`, ['zz_security_leaving']);
    expect(row).toEqual({ open_reviews: 0, active: false });
    expect((await call('GET', '/v1/experts/zz_security_leaving', admin)).body).toMatchObject({ active: false, source: 'api' });
    expect((await humanFor(securityChange('registry-removed'))).expertId).not.toBe('zz_security_leaving');
    const last = (await registryEvents()).filter((e) => e.data.expertId === 'zz_security_leaving').at(-1)!.data;
    expect(last).toMatchObject({ change: 'removed', expert: null, source: 'api', actor: { subject: 'ops-admin' } });
    expect((await call('DELETE', '/v1/experts/nobody_here', admin)).status).toBe(404);
  });

  it('refuses writes to anyone but an admin (401/403, audited as security.refused), and bad input as problem+json', async () => {
    const body = definition({ principal: ['x'] });
    const refusals: Array<[string, string, TestPrincipal | undefined, unknown, number, string]> = [
      ['PUT', '/v1/experts/zz_refused', undefined, body, 401, 'unauthenticated'],
      ['PUT', '/v1/experts/zz_refused', auditor, body, 403, 'forbidden'],
      ['PUT', '/v1/experts/zz_refused', { sub: 'x', roles: ['reviewer', 'submitter'], projects: ['*'] }, body, 403, 'forbidden'],
      ['DELETE', '/v1/experts/security_expert_human', auditor, undefined, 403, 'forbidden'],
      ['PUT', '/v1/experts/security_expert_human/availability', { sub: 'architect_human', roles: ['reviewer'] }, { available: false }, 403, 'not-bound-to-expert'],
      ['PUT', '/v1/experts/security_expert_human/availability', { sub: 'security_expert_human', roles: ['submitter'], projects: ['*'] }, { available: false }, 403, 'forbidden'],
      ['GET', '/v1/experts/security_expert_human', { sub: 'security_expert_human', roles: ['reviewer'] }, undefined, 403, 'forbidden'],
    ];
    for (const [method, path, who, payload, status, code] of refusals) {
      const response = await call(method, path, who, payload);
      const problemType = `https://agf.dev/problems/${code}`;
      expect([method, path, who?.sub, response.status, response.type, response.body?.['type']]).toEqual([method, path, who?.sub, status, expect.stringContaining('application/problem+json'), problemType]);
    }
    await eventually(async () => {
      const audited = (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data).filter((r) => r.service === 'coe' && r.target.includes('/v1/experts/'));
      expect(audited.map((r) => [r.target, r.code, r.actor?.subject]).sort()).toEqual(
        refusals.map(([method, path, who, , , code]) => [`${method} ${path}`, code, who?.sub]).sort(),
      );
    });
    expect(await call('GET', '/v1/experts/zz_refused', admin)).toMatchObject({ status: 404 });

    const invalid: Array<[string, string, unknown, string]> = [
      ['PUT', '/v1/experts/not%20an%20id', body, 'id'],
      ['PUT', '/v1/experts/zz_invalid', { ...body, capacity: 0 }, 'capacity'],
      ['PUT', '/v1/experts/zz_invalid', { ...body, expertType: 'wizardry' }, 'expertType'],
      ['PUT', '/v1/experts/zz_invalid', { ...body, email: 'not-an-email' }, 'email'],
      ['PUT', '/v1/experts/zz_invalid', { ...body, available: false }, '(root)'],
      ['PUT', '/v1/experts/security_expert_human/availability', { available: 'no' }, 'available'],
      ['PUT', '/v1/experts/security_expert_human/availability', { available: true, away: { from: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' } }, 'away'],
    ];
    for (const [method, path, payload, field] of invalid) {
      const response = await call(method, path, admin, payload);
      expect([path, field, response.status, response.type, response.body?.['type']]).toEqual([path, field, 400, expect.stringContaining('application/problem+json'), 'https://agf.dev/problems/invalid-request']);
    }
    expect((await call('GET', '/v1/experts/zz_invalid', admin)).status).toBe(404);
  });

  it("keeps every service's replica of the registry current (AGF_REGISTRY replayed, then followed)", async () => {
    await replica.ready;
    await eventually(async () => {
      expect(replica.find('security_expert_human')).toMatchObject({ expertType: 'security', principal: ['security_expert_human'] });
      expect(replica.boundTo('security_expert_human')).toEqual(['security_expert_human']);
      expect(replica.find('zz_security_leaving')).toBeUndefined();
    });
    expect((await call('PUT', '/v1/experts/zz_replicated', admin, definition({ principal: ['rita', 'ron'] }))).status).toBe(201);
    await eventually(async () => expect(replica.boundTo('rita')).toEqual(['zz_replicated']));
    expect((await call('PUT', '/v1/experts/zz_replicated', admin, definition({ principal: ['ron'] }))).status).toBe(200);
    await eventually(async () => expect([replica.boundTo('rita'), replica.boundTo('ron')]).toEqual([[], ['zz_replicated']]));

    // A replica started afresh replays the whole registry.
    const fresh = new ExpertRegistryReplica();
    await fresh.start(nats.nc, nats.namespace);
    try {
      await fresh.ready;
      expect(fresh.all().map((e) => e.id)).toEqual(replica.all().map((e) => e.id));
      expect(fresh.all().map((e) => e.id)).toContain('zz_replicated');
    } finally {
      await fresh.stop();
    }
  });
  it('keeps what the API changed across a restart, until the config entry itself changes; hands over the reviews of an expert removed from the config', async () => {
    // A config expert changed through the API, another removed through it.
    const changed = await call('PUT', '/v1/experts/sre_human', admin, definition({ expertType: 'performance', specialties: ['capacity'], capacity: 3, principal: ['sre_human'] }));
    expect(changed.status).toBe(200);
    expect((await call('DELETE', '/v1/experts/dpo_human', admin)).status).toBe(204);
    const before = (await registryEvents()).length;
    await coe.stop();
    await coe.restart();
    const experts = new Map(((await call('GET', '/v1/experts', auditor)).body!['experts'] as Array<{ id: string; capacity: number; active: boolean; source: string }>).map((e) => [e.id, e]));
    expect(experts.get('sre_human')).toMatchObject({ capacity: 3, active: true, source: 'api' });
    expect(experts.get('dpo_human')).toMatchObject({ active: false, source: 'api' });
    // Experts added through the API are not the config's to deactivate.
    expect(experts.get('zz_security_api')).toMatchObject({ active: true, source: 'api' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await registryEvents()).toHaveLength(before);

    // The config entry of sre_human changes: the file's version is applied again.
    const edited = join(mkdtempSync(join(tmpdir(), 'agf-registry-')), 'agf-config.yaml');
    temporary.push(dirname(edited));
    const yaml = readFileSync(FIXTURE, 'utf8');
    const entry = '      specialties: ["capacity", "observability"]\n      capacity: 10\n';
    expect(yaml).toContain(entry);
    const architect = '    - id: "architect_human"\n      type: "human"\n      principal: "architect_human"\n      specialties: ["design_review"]\n      capacity: 10\n';
    expect(yaml).toContain(architect);
    writeFileSync(edited, yaml.replace(entry, '      specialties: ["capacity", "observability"]\n      capacity: 8\n').replace(architect, ''));
    await coe.stop();
    await coe.restart({ AGF_CONFIG: edited });
    expect((await call('GET', '/v1/experts/sre_human', auditor)).body).toMatchObject({ capacity: 8, source: 'config', specialties: ['capacity', 'observability'] });
    expect((await call('GET', '/v1/experts/dpo_human', auditor)).body).toMatchObject({ active: false });
    await eventually(async () => {
      const after = (await registryEvents()).slice(before);
      expect(after.map((e) => [e.data.expertId, e.data.change, e.data.source, e.data.expert?.capacity])).toEqual([
        ['sre_human', 'upserted', 'config', 8],
        ['architect_human', 'removed', 'config', undefined],
      ]);
    });
    // architect_human left the config: its pending review went to the other architecture reviewer.
    const [cancelled] = await reviewEvents('review.cancelled', heldByArchitect.requestId);
    expect(cancelled?.data).toMatchObject({ expertId: 'architect_human', reason: 'removed-from-registry' });
    const replacement = (await reviewEvents('review.assigned', heldByArchitect.requestId)).find((e) => e.data.assignmentId === cancelled!.data.replacedByAssignmentId);
    expect(replacement?.data).toMatchObject({ expertId: 'zz_database_architect', supersedesAssignmentId: cancelled!.data.assignmentId });
    await coe.stop();
    await coe.restart();
  });
});
