import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { type AccessRefused, type CloudEvent, createEvent, subjectFor } from '@agf/contracts';
import { eventually, ServiceProcess } from '@agf/testing';
import { generateKeyPair, SignJWT } from 'jose';
import { aGovernedChange, ALL_SERVICES, CONFIG, SecuredSystem } from './secured-system';

jest.setTimeout(120_000);

/**
 * One test per item of the OWASP API Security Top 10 (2023), each an attack on the running system that must
 * be refused, and refused visibly: every refusal is a `security.refused` event that compliance chains.
 */
describe('OWASP API Security Top 10 (2023)', () => {
  let system: SecuredSystem;
  const teamA = 'payments-api';
  const teamB = 'ledger-api';
  let requestOfA: string;

  beforeAll(async () => {
    system = await SecuredSystem.start();
    requestOfA = await system.submit(await system.bearer('pipeline-a', ['submitter'], [teamA]), aGovernedChange(teamA));
  }, 90_000);

  afterAll(async () => {
    await system?.stop();
  });

  const refusals = async (): Promise<AccessRefused[]> =>
    (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);

  it('API1 Broken Object Level Authorization: a pipeline of project B cannot read, poll or report on a request of A by its id', async () => {
    const pipelineB = await system.bearer('pipeline-b', ['submitter'], [teamB]);
    const unknownId = randomUUID();
    const unknown = await system.call('intake', 'GET', `/v1/deployment-requests/${unknownId}`, pipelineB);
    for (const path of [`/v1/deployment-requests/${requestOfA}`, `/v1/deployment-requests/${requestOfA}/decision`]) {
      const response = await system.call('intake', 'GET', path, pipelineB);
      expect(response.status).toBe(404);
      // The same answer as for an id that does not exist: nothing tells B the request is there.
      expect(Object.keys((await response.json()) as object)).toEqual(Object.keys((await unknown.clone().json()) as object));
    }
    expect((await system.call('intake', 'POST', `/v1/deployment-requests/${requestOfA}/outcome`, pipelineB, { status: 'failed' })).status).toBe(404);
    expect((await system.call('risk', 'GET', `/v1/assessments/${requestOfA}`, pipelineB)).status).toBe(404);
    expect((await system.call('learning', 'GET', `/v1/history/${teamA}`, pipelineB)).status).toBe(404);
    // A reviewer reads a request only when it is assigned one of its experts.
    expect((await system.call('intake', 'GET', `/v1/deployment-requests/${requestOfA}`, await system.bearer('olivia', ['reviewer']))).status).toBe(404);
    // The owner and an auditor do read it.
    expect((await system.call('intake', 'GET', `/v1/deployment-requests/${requestOfA}`, await system.bearer('pipeline-a', ['submitter'], [teamA]))).status).toBe(200);
    expect((await system.call('risk', 'GET', `/v1/assessments/${requestOfA}`, await system.bearer('auditor-ann', ['auditor']))).status).not.toBe(403);
    await eventually(async () => expect((await refusals()).filter((r) => r.code === 'not-visible' && r.actor?.subject === 'pipeline-b').length).toBeGreaterThanOrEqual(5));
  });

  it('API2 Broken Authentication: no credential, a forged token and a revoked key are all 401', async () => {
    const body = aGovernedChange(teamA);
    expect((await system.call('intake', 'POST', '/v1/deployment-requests', undefined, body)).status).toBe(401);
    const attackerKey = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: 'pipeline-a', agf_roles: ['submitter'], agf_projects: ['*'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1' })
      .setIssuer(system.idp.issuer)
      .setAudience('agf-test')
      .setExpirationTime(now + 600)
      .sign(attackerKey.privateKey);
    expect((await system.call('intake', 'POST', '/v1/deployment-requests', `Bearer ${forged}`, body)).status).toBe(401);
    const { id, key } = await system.issueKey({ name: 'leaked', subject: 'pipeline-a', roles: ['submitter'], projects: [teamA] });
    expect((await system.call('intake', 'GET', `/v1/deployment-requests/${requestOfA}`, `Bearer ${key}`)).status).toBe(200);
    expect((await system.call('intake', 'DELETE', `/v1/api-keys/${id}`, `Bearer ${system.adminKey}`)).status).toBe(204);
    await eventually(async () => expect((await system.call('intake', 'POST', '/v1/deployment-requests', `Bearer ${key}`, body)).status).toBe(401), 5000, 100);
  });

  it('API3 Broken Object Property Level Authorization: a caller cannot set who requested, nor its own verified identity, nor read key secrets', async () => {
    const pipeline = await system.bearer('pipeline-a', ['submitter'], [teamA]);
    const spoofed = await system.call('intake', 'POST', '/v1/deployment-requests', pipeline, aGovernedChange(teamA, { requester: 'someone-trusted' }));
    expect(spoofed.status).toBe(403);
    expect(await spoofed.json()).toMatchObject({ type: 'https://agf.dev/problems/requester-mismatch' });
    const withActor = await system.call('intake', 'POST', '/v1/deployment-requests', pipeline, aGovernedChange(teamA, { actor: { subject: 'olivia', channel: 'http' } }));
    expect(withActor.status).toBe(400);
    const listed = await system.call('intake', 'GET', '/v1/api-keys', `Bearer ${system.adminKey}`);
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toMatch(/agf_[A-Za-z0-9_-]{20,}|keyHash|key_hash/);
    expect(text).not.toContain(system.adminKey);
  });

  it('API4 Unrestricted Resource Consumption: each principal has its own request budget, after the one per address', async () => {
    const limited = await ServiceProcess.start('risk', { databaseUrl: system.db.url, namespace: system.nats.namespace.prefix, env: { AGF_CONFIG: CONFIG, AGF_RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: '5' } });
    try {
      const greedy = await system.bearer('greedy-bot', ['auditor']);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await fetch(`${limited.url}/v1/assessments/${requestOfA}`, { headers: { authorization: greedy } })).status);
      expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
      expect(statuses.slice(5)).toEqual([429, 429]);
      // Another principal from the same address still gets its answer.
      expect((await fetch(`${limited.url}/v1/assessments/${requestOfA}`, { headers: { authorization: await system.bearer('modest-bot', ['auditor']) } })).status).not.toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('API5 Broken Function Level Authorization: each role reaches only its functions; admin does not make a reviewer', async () => {
    const auditor = await system.bearer('auditor-ann', ['auditor']);
    const pipeline = await system.bearer('pipeline-a', ['submitter'], [teamA]);
    expect((await system.call('intake', 'POST', '/v1/deployment-requests', auditor, aGovernedChange(teamA))).status).toBe(403);
    expect((await system.call('intake', 'POST', '/v1/api-keys', pipeline, { name: 'mine', subject: 'pipeline-a', roles: ['admin'], projects: ['*'] })).status).toBe(403);
    expect((await system.call('intake', 'GET', '/v1/api-keys', auditor)).status).toBe(403);
    expect((await system.call('compliance', 'GET', '/v1/audit/trail', pipeline)).status).toBe(403);
    expect((await system.call('coe', 'GET', '/v1/experts', pipeline)).status).toBe(403);
    expect((await system.call('sla', 'GET', '/metrics', pipeline)).status).toBe(403);
    const [assignment] = await system.pendingHumans(requestOfA);
    const asAdmin = await system.call('intake', 'POST', `/v1/deployment-requests/${requestOfA}/reviews`, `Bearer ${system.adminKey}`, {
      assignmentId: assignment!.id,
      expertId: assignment!.expertId,
      decision: 'approve',
      comments: 'admin says yes',
    });
    expect(asAdmin.status).toBe(403);
    await eventually(async () => expect((await refusals()).filter((r) => r.code === 'forbidden').length).toBeGreaterThanOrEqual(7));
  });

  it('API6 Unrestricted Access to Sensitive Business Flows: no self-approval, no answering for another expert; the bound reviewer decides', async () => {
    // alice submits (she is a pipeline owner and a reviewer) and tries to approve her own change.
    const alice = await system.bearer('alice', ['submitter', 'reviewer'], [teamB]);
    const own = await system.submit(alice, aGovernedChange(teamB));
    const humans = await system.pendingHumans(own);
    const selfApproval = await system.call('intake', 'POST', `/v1/deployment-requests/${own}/reviews`, alice, { assignmentId: humans[0]!.id, expertId: humans[0]!.expertId, decision: 'approve', comments: 'lgtm' });
    expect(selfApproval.status).toBe(403);
    expect(((await selfApproval.json()) as { type: string }).type).toMatch(/separation-of-duties|not-bound-to-expert/);
    // A reviewer bound to another expert cannot answer this assignment.
    const other = humans[0]!.expertId === 'sre_human' ? 'arjun' : 'sofia';
    const foreign = await system.call('intake', 'POST', `/v1/deployment-requests/${own}/reviews`, await system.bearer(other, ['reviewer']), {
      assignmentId: humans[0]!.id,
      expertId: humans[0]!.expertId,
      decision: 'approve',
      comments: 'lgtm',
    });
    expect([403, 404]).toContain(foreign.status);
    // The bound reviewers approve, and the request is decided on their word.
    for (const human of humans) {
      const reviewer = await system.bearer(system.subjectOf(human.expertId), ['reviewer']);
      const answer = await system.call('intake', 'POST', `/v1/deployment-requests/${own}/reviews`, reviewer, { assignmentId: human.id, expertId: human.expertId, decision: 'approve', comments: 'reviewed' });
      expect(answer.status).toBe(202);
    }
    const decision = await eventually(async () => {
      const found = (await system.nats.read('AGF_DECISION', 'agf.v1.decision.made.>')).map((m) => m.json<CloudEvent<'decision.made'>>()).filter((e) => e.data.requestId === own);
      expect(found).toHaveLength(1);
      return found[0]!.data;
    }, 30_000, 250);
    expect(decision.approved).toBe(true);
    // The audit trail names the verified reviewer, not a string the caller chose.
    const trail = await eventually(async () => {
      const response = await system.call('compliance', 'GET', `/v1/audit/trail?requestId=${own}`, await system.bearer('auditor-ann', ['auditor']));
      expect(response.status).toBe(200);
      const body = JSON.stringify(await response.json());
      expect(body).toContain(`"subject":"${system.subjectOf(humans[0]!.expertId)}"`);
      return body;
    }, 15_000, 250);
    expect(trail).toContain(system.idp.issuer);
  });

  it('API7 Server Side Request Forgery: a token cannot make AGF fetch keys from a URL it names', async () => {
    let fetched = 0;
    const lure = createServer((_req, res) => {
      fetched += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((resolve) => lure.listen(0, '127.0.0.1', resolve));
    try {
      const lureUrl = `http://127.0.0.1:${(lure.address() as AddressInfo).port}`;
      const attacker = await generateKeyPair('RS256');
      const token = await new SignJWT({ sub: 'x', agf_roles: ['admin'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'lure', jku: `${lureUrl}/jwks`, x5u: `${lureUrl}/cert` })
        .setIssuer(`${lureUrl}`)
        .setAudience('agf-test')
        .setExpirationTime('5m')
        .sign(attacker.privateKey);
      for (const service of ALL_SERVICES) expect((await system.call(service, 'GET', '/metrics', `Bearer ${token}`)).status).toBe(401);
      expect(fetched).toBe(0);
    } finally {
      lure.close();
    }
  });

  it('API8 Security Misconfiguration: security headers, no framework banner, probes and errors that reveal nothing', async () => {
    for (const service of ALL_SERVICES) {
      const response = await system.call(service, 'GET', '/health/ready');
      expect(response.status).toBe(200);
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(await response.text()).not.toMatch(/127\.0\.0\.1|localhost|:4222|:5432|postgres:\/\/|nats:\/\//);
    }
    const problem = await system.call('intake', 'GET', '/v1/deployment-requests/not-a-uuid', await system.bearer('auditor-ann', ['auditor']));
    expect(problem.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await problem.text()).not.toMatch(/at .*\.js:\d+|node_modules|QueryFailedError/);
  });

  it('API9 Improper Inventory Management: every route of every service, documented or not, needs a credential', async () => {
    const routes: Array<[(typeof ALL_SERVICES)[number], string, string]> = [
      ['intake', 'POST', '/v1/deployment-requests'],
      ['intake', 'GET', `/v1/deployment-requests/${requestOfA}`],
      ['intake', 'GET', `/v1/deployment-requests/${requestOfA}/decision`],
      ['intake', 'POST', `/v1/deployment-requests/${requestOfA}/reviews`],
      ['intake', 'POST', `/v1/deployment-requests/${requestOfA}/outcome`],
      ['intake', 'POST', '/v1/api-keys'],
      ['intake', 'GET', '/v1/api-keys'],
      ['intake', 'DELETE', `/v1/api-keys/${randomUUID()}`],
      ['intake', 'GET', '/docs'],
      ['intake', 'GET', '/docs/openapi.json'],
      ['risk', 'GET', `/v1/assessments/${requestOfA}`],
      ['coe', 'GET', '/v1/experts'],
      ['coe', 'GET', '/v1/experts/security_expert_human'],
      ['coe', 'PUT', '/v1/experts/security_expert_human'],
      ['coe', 'DELETE', '/v1/experts/security_expert_human'],
      ['coe', 'PUT', '/v1/experts/security_expert_human/availability'],
      ['sla', 'GET', '/v1/timers'],
      ['learning', 'GET', `/v1/history/${teamA}`],
      ['learning', 'GET', '/v1/patterns/similar'],
      ['compliance', 'GET', '/v1/audit/verify'],
      ['compliance', 'GET', '/v1/audit/trail'],
      ['compliance', 'GET', `/v1/compliance/${requestOfA}`],
      ...ALL_SERVICES.map((s): [(typeof ALL_SERVICES)[number], string, string] => [s, 'GET', '/metrics']),
      // An undocumented or forgotten path answers 401 too, not 404: nothing is learnt about what exists.
      ...ALL_SERVICES.map((s): [(typeof ALL_SERVICES)[number], string, string] => [s, 'GET', '/v0/internal/debug']),
    ];
    for (const [service, method, path] of routes) {
      const response = await system.call(service, method, path, undefined, method === 'POST' ? {} : undefined);
      expect({ service, method, path, status: response.status }).toEqual({ service, method, path, status: 401 });
    }
  });

  it('API10 Unsafe Consumption of APIs: answers and submissions over NATS are judged on their credential like HTTP ones', async () => {
    const [assignment] = await system.pendingHumans(requestOfA);
    const answer = (id: string) =>
      createEvent({
        name: 'review.submit',
        source: 'some-agent',
        correlationId: requestOfA,
        id,
        data: { requestId: requestOfA, projectId: teamA, assignmentId: assignment!.id, expertId: assignment!.expertId, decision: 'approve', comments: 'auto-approve', conditions: [], submittedAt: new Date().toISOString() },
      });
    const unauthenticated = answer(randomUUID());
    await system.nats.publish(subjectFor('review.submit', teamA), JSON.stringify(unauthenticated), unauthenticated.id);
    const unbound = answer(randomUUID());
    await system.nats.publish(subjectFor('review.submit', teamA), JSON.stringify(unbound), unbound.id, { Authorization: await system.bearer('mallory', ['reviewer']) });
    const submission = { ...aGovernedChange(teamA) };
    await system.nats.publish(subjectFor('intake.submit'), JSON.stringify(submission), `unsigned-${randomUUID()}`);

    await eventually(async () => {
      const rejected = (await system.nats.read('AGF_REVIEW', 'agf.v1.review.rejected.>')).map((m) => m.json<CloudEvent<'review.rejected'>>());
      expect(rejected.find((e) => e.causationid === unauthenticated.id)?.data.code).toBe('unauthenticated');
      expect(rejected.find((e) => e.causationid === unbound.id)?.data.code).toBe('forbidden');
      const intakeRejections = (await system.nats.read('AGF_INTAKE', 'agf.v1.intake.rejected.>')).map((m) => m.json<CloudEvent<'intake.rejected'>>().data);
      expect(intakeRejections.some((r) => r.errors.some((e) => e.path === 'Authorization'))).toBe(true);
      const natsRefusals = (await refusals()).filter((r) => r.channel === 'nats');
      expect(natsRefusals.map((r) => r.code)).toEqual(expect.arrayContaining(['unauthenticated', 'not-bound-to-expert']));
    }, 20_000, 250);
    // The assignment is still open: neither answer counted.
    expect((await system.pendingHumans(requestOfA)).map((a) => a.id)).toContain(assignment!.id);
  });
});
