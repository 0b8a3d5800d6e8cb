import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AccessRefused, type CloudEvent, DeploymentRequestView, type RefusalCode, type Role } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, testIdentity, type TestIdentity } from '@agf/testing';
import { parse as parseYaml, stringify as toYaml } from 'yaml';

jest.setTimeout(60_000);

/**
 * Who may do what at intake's doors (HTTP and NATS): submitters only for their projects and in their own
 * name, reads only of what the caller may see (404 otherwise, as for an unknown id), answers only from a
 * reviewer bound to the assigned expert and never from the requester; every refusal a `security.refused` event.
 */
describe('intake authorization (real tokens, NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  let identity: TestIdentity;
  let configDir: string;

  const teamA = 'team-a';
  const teamB = 'team-b';

  const headers = (sub: string, roles: Role[], projects: string[] = []) => identity.headers({ sub, roles, projects });
  const call = async (method: string, path: string, auth: Record<string, string> | undefined, body?: unknown) =>
    fetch(`${intake.url}${path}`, {
      method,
      headers: auth ?? { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const submit = async (auth: Record<string, string>, projectId: string, overrides: object = {}) => {
    const response = await call('POST', '/v1/deployment-requests', auth, { ...aDeploymentRequestInput({ projectId }), requester: undefined, ...overrides });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const storedRequests = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests'))[0]!.n);
  const refusals = async (): Promise<AccessRefused[]> =>
    (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
  const refusedEventually = (code: RefusalCode, match: (r: AccessRefused) => boolean) =>
    eventually(async () => {
      const found = (await refusals()).filter((r) => r.code === code && match(r));
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found[0]!;
    });
  const assign = async (requestId: string, projectId: string, expertId: string) => {
    const now = new Date();
    const assignmentId = randomUUID();
    await nats.publishEvent(
      'review.assigned',
      {
        requestId,
        projectId,
        assignmentId,
        expertId,
        expertType: expertId.startsWith('architect') ? 'architecture' : 'security',
        expertKind: 'human',
        role: 'standard',
        scope: ['security'],
        tierLevel: 1,
        priority: 'normal',
        slaHours: 24,
        assignedAt: now.toISOString(),
        slaDueAt: new Date(now.getTime() + 24 * 3600_000).toISOString(),
      },
      { correlationId: requestId, source: 'coe' },
    );
    return assignmentId;
  };

  beforeAll(async () => {
    identity = await testIdentity();
    // The shipped policy, with two human experts bound to principals: alice answers for the security expert, carol for the architect.
    const policy = parseYaml(readFileSync(join(__dirname, '..', '..', 'agf-config.yaml'), 'utf8')) as { experts: Record<string, Array<{ id: string; principal?: string }>> };
    for (const expert of Object.values(policy.experts).flat()) {
      if (expert.id === 'security_expert_human') expert.principal = 'alice';
      if (expert.id === 'architect_human') expert.principal = 'carol';
    }
    configDir = mkdtempSync(join(tmpdir(), 'agf-intake-access-'));
    writeFileSync(join(configDir, 'agf-config.yaml'), toYaml(policy));
    db = await createTestDatabase();
    nats = await TestNats.connect();
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: join(configDir, 'agf-config.yaml') } });
  });

  afterAll(async () => {
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('refuses a submitter of project A submitting for project B (403), stores nothing and records the refusal', async () => {
    const pipelineA = await headers('pipeline-a', ['submitter'], [teamA]);
    const before = await storedRequests();
    const response = await call('POST', '/v1/deployment-requests', pipelineA, aDeploymentRequestInput({ projectId: teamB, requester: 'pipeline-a' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { type: string; detail: string };
    expect(problem.type).toMatch(/forbidden/);
    expect(problem.detail).toContain(teamB);
    expect(await storedRequests()).toBe(before);
    const refusal = await refusedEventually('forbidden', (r) => r.actor?.subject === 'pipeline-a' && r.target === 'POST /v1/deployment-requests');
    expect(refusal).toMatchObject({ service: 'intake', channel: 'http', actor: { subject: 'pipeline-a', issuer: identity.issuer, channel: 'http' } });
  });

  it('takes the requester from the credential, and refuses a body naming someone else (403 requester-mismatch)', async () => {
    const pipelineA = await headers('pipeline-a', ['submitter'], [teamA]);
    const id = await submit(pipelineA, teamA);
    const view = DeploymentRequestView.parse(await (await call('GET', `/v1/deployment-requests/${id}`, pipelineA)).json());
    expect(view.requester).toBe('pipeline-a');
    expect(view.request.actor).toEqual({ subject: 'pipeline-a', issuer: identity.issuer, channel: 'http' });
    // Naming oneself is fine.
    await submit(pipelineA, teamA, { requester: 'pipeline-a' });

    const before = await storedRequests();
    const forged = await call('POST', '/v1/deployment-requests', pipelineA, aDeploymentRequestInput({ projectId: teamA, requester: 'somebody-else' }));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { type: string }).type).toMatch(/requester-mismatch/);
    expect(await storedRequests()).toBe(before);
    await refusedEventually('requester-mismatch', (r) => r.actor?.subject === 'pipeline-a');
  });

  it('answers 401 without a credential and 403 to a principal without the submitter role', async () => {
    const body = aDeploymentRequestInput({ projectId: teamA });
    const anonymous = await call('POST', '/v1/deployment-requests', undefined, body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const auditor = await call('POST', '/v1/deployment-requests', await headers('auditor-ann', ['auditor']), body);
    expect(auditor.status).toBe(403);
    const admin = await call('POST', '/v1/deployment-requests', await headers('root', ['admin'], ['*']), body);
    expect(admin.status).toBe(403);
    await refusedEventually('forbidden', (r) => r.actor?.subject === 'auditor-ann');
  });

  it("hides another project's request (404, the same answer as an unknown id), and lets auditors read everything", async () => {
    const pipelineA = await headers('pipeline-a', ['submitter'], [teamA]);
    const pipelineB = await headers('pipeline-b', ['submitter'], [teamB]);
    const requestOfB = await submit(pipelineB, teamB);
    const unknownId = randomUUID();
    const unknown = (await (await call('GET', `/v1/deployment-requests/${unknownId}`, pipelineA)).json()) as Record<string, unknown>;
    const sameAsUnknown = (problem: Record<string, unknown>) => ({ ...problem, detail: String(problem['detail']).replace(requestOfB, unknownId), instance: undefined });

    for (const path of [`/v1/deployment-requests/${requestOfB}`, `/v1/deployment-requests/${requestOfB}/decision`]) {
      const response = await call('GET', path, pipelineA);
      expect(response.status).toBe(404);
      expect(sameAsUnknown((await response.json()) as Record<string, unknown>)).toEqual({ ...unknown, instance: undefined });
    }
    const outcome = await call('POST', `/v1/deployment-requests/${requestOfB}/outcome`, pipelineA, { status: 'failed' });
    expect(outcome.status).toBe(404);
    // A reviewer bound to no expert assigned to it sees nothing either.
    expect((await call('GET', `/v1/deployment-requests/${requestOfB}`, await headers('alice', ['reviewer']))).status).toBe(404);

    expect((await call('GET', `/v1/deployment-requests/${requestOfB}`, pipelineB)).status).toBe(200);
    expect((await call('GET', `/v1/deployment-requests/${requestOfB}`, await headers('auditor-ann', ['auditor']))).status).toBe(200);
    expect((await call('GET', `/v1/deployment-requests/${requestOfB}/decision`, await headers('auditor-ann', ['auditor']))).status).toBe(202);
    // An auditor reads but reports nothing.
    expect((await call('POST', `/v1/deployment-requests/${requestOfB}/outcome`, await headers('auditor-ann', ['auditor']), { status: 'failed' })).status).toBe(403);
    // A submitter of B who audits too reads A's requests, yet may not report their outcomes.
    const requestOfA = await submit(pipelineA, teamA);
    const auditingB = await headers('lead-b', ['submitter', 'auditor'], [teamB]);
    expect((await call('GET', `/v1/deployment-requests/${requestOfA}`, auditingB)).status).toBe(200);
    expect((await call('POST', `/v1/deployment-requests/${requestOfA}/outcome`, auditingB, { status: 'failed' })).status).toBe(403);

    await eventually(async () => {
      const hidden = (await refusals()).filter((r) => r.code === 'not-visible' && r.actor?.subject === 'pipeline-a');
      expect(hidden.map((r) => r.target).sort()).toEqual(
        [`GET /v1/deployment-requests/${requestOfB}`, `GET /v1/deployment-requests/${requestOfB}/decision`, `POST /v1/deployment-requests/${requestOfB}/outcome`].sort(),
      );
    });
  });

  it('takes an answer only from a reviewer bound to the assigned expert, never from the requester, and records who answered', async () => {
    const pipelineA = await headers('pipeline-a', ['submitter'], [teamA]);
    const alice = await headers('alice', ['reviewer']);
    const requestId = await submit(pipelineA, teamA);
    const securityAssignment = await assign(requestId, teamA, 'security_expert_human');
    const architectAssignment = await assign(requestId, teamA, 'architect_human');
    // Both assignments in intake's read model, or an answer to the second could meet an unknown assignment (422).
    await eventually(async () => {
      const view = await call('GET', `/v1/deployment-requests/${requestId}`, alice);
      expect(view.status).toBe(200);
      expect(((await view.json()) as { assignments: unknown[] }).assignments).toHaveLength(2);
    });
    const answer = (assignmentId: string, expertId: string) => ({ assignmentId, expertId, decision: 'approve', comments: 'looks fine' });

    // Alice answering the architect's assignment: she sees the request, but may not speak for that expert.
    const notHers = await call('POST', `/v1/deployment-requests/${requestId}/reviews`, alice, answer(architectAssignment, 'architect_human'));
    expect(notHers.status).toBe(403);
    expect(((await notHers.json()) as { type: string }).type).toMatch(/not-bound-to-expert/);
    // Nor by naming her own expert on it.
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, alice, answer(architectAssignment, 'security_expert_human'))).status).toBe(403);
    // A reviewer bound to nothing here does not learn the request exists; an admin is no reviewer.
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, await headers('bob', ['reviewer']), answer(securityAssignment, 'security_expert_human'))).status).toBe(404);
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, await headers('root', ['admin'], ['*']), answer(securityAssignment, 'security_expert_human'))).status).toBe(403);

    const accepted = await call('POST', `/v1/deployment-requests/${requestId}/reviews`, alice, answer(securityAssignment, 'security_expert_human'));
    expect(accepted.status).toBe(202);
    const submitted = await eventually(async () => {
      const found = (await nats.read('AGF_REVIEW', `agf.v1.review.submit.${teamA}`)).map((m) => m.json<CloudEvent<'review.submit'>>().data).filter((d) => d.requestId === requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(submitted).toMatchObject({ assignmentId: securityAssignment, expertId: 'security_expert_human', actor: { subject: 'alice', issuer: identity.issuer, channel: 'http' } });

    // Carol answers for the architect, but not on her own request, whatever credential she uses.
    const carol = await headers('carol', ['submitter', 'reviewer'], [teamA]);
    const ownRequest = await submit(carol, teamA);
    const ownAssignment = await assign(ownRequest, teamA, 'architect_human');
    await eventually(async () => expect(((await (await call('GET', `/v1/deployment-requests/${ownRequest}`, carol)).json()) as { assignments: unknown[] }).assignments).toHaveLength(1));
    const selfApproval = await call('POST', `/v1/deployment-requests/${ownRequest}/reviews`, await headers('carol', ['reviewer']), answer(ownAssignment, 'architect_human'));
    expect(selfApproval.status).toBe(403);
    expect(((await selfApproval.json()) as { type: string }).type).toMatch(/separation-of-duties/);
    // On someone else's request she may.
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, carol, answer(architectAssignment, 'architect_human'))).status).toBe(202);

    await refusedEventually('not-bound-to-expert', (r) => r.actor?.subject === 'alice');
    await refusedEventually('separation-of-duties', (r) => r.actor?.subject === 'carol');
    await refusedEventually('not-visible', (r) => r.actor?.subject === 'bob');
  });

  describe('over NATS (agf.v1.intake.submit with an Authorization header)', () => {
    const rejectedFor = async (projectId: string) =>
      (await nats.read('AGF_INTAKE', `agf.v1.intake.rejected.${projectId}`)).map((m) => m.json<CloudEvent<'intake.rejected'>>().data);
    const requestedFor = async (projectId: string) => nats.read('AGF_DEPLOYMENT', `agf.v1.deployment.requested.${projectId}`);

    it.each([
      ['no Authorization header', 'nats-anonymous', undefined, 'unauthenticated', /no credential/],
      ['a token signed by a key the issuer never published', 'nats-forged', 'forged', 'unauthenticated', /invalid token/],
      ['an expired token', 'nats-expired', 'expired', 'unauthenticated', /expired/],
      ['an unknown API key', 'nats-unknown-key', 'Bearer agf_not-a-key-anyone-issued', 'unauthenticated', /API key/],
      ['a submitter of another project', 'nats-other-project', 'other-project', 'forbidden', /may not submit/],
      ['an auditor', 'nats-auditor', 'auditor', 'forbidden', /may not submit/],
      ['a requester other than the credential', 'nats-mismatch', 'mismatch', 'requester-mismatch', /somebody-else/],
    ] as const)('rejects a submission with %s: intake.rejected, nothing stored, the refusal recorded', async (_case, projectId, credential, code, reason) => {
      const authorization = await (async () => {
        switch (credential) {
          case undefined:
            return undefined;
          case 'forged':
            return `Bearer ${await identity.tokenSignedByAnotherKey({ sub: 'pipeline-a', roles: ['submitter'], projects: ['*'] })}`;
          case 'expired':
            return identity.bearer({ sub: 'pipeline-a', roles: ['submitter'], projects: ['*'] }, { expiresIn: -600 });
          case 'other-project':
            return identity.bearer({ sub: 'pipeline-a', roles: ['submitter'], projects: [teamA] });
          case 'auditor':
            return identity.bearer({ sub: 'pipeline-a', roles: ['auditor'], projects: ['*'] });
          case 'mismatch':
            return identity.bearer({ sub: 'pipeline-a', roles: ['submitter'], projects: ['*'] });
          default:
            return credential;
        }
      })();
      const before = await storedRequests();
      const body = aDeploymentRequestInput({ projectId, requester: credential === 'mismatch' ? 'somebody-else' : 'pipeline-a' });
      await nats.publish('agf.v1.intake.submit', JSON.stringify(body), `run-${projectId}`, authorization ? { Authorization: authorization } : undefined);
      const [rejected] = await eventually(async () => {
        const found = await rejectedFor(projectId);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(rejected!.errors).toEqual([{ path: code === 'requester-mismatch' ? 'requester' : 'Authorization', message: expect.stringMatching(reason) }]);
      const refusal = await refusedEventually(code, (r) => r.channel === 'nats' && r.reason === rejected!.errors[0]!.message);
      expect(refusal.target).toBe('agf.v1.intake.submit');
      if (code === 'unauthenticated') expect(refusal.actor).toBeUndefined();
      else expect(refusal.actor).toMatchObject({ subject: 'pipeline-a', channel: 'nats' });
      expect(await storedRequests()).toBe(before);
      expect(await requestedFor(projectId)).toHaveLength(0);
    });

    it('accepts a submission with a valid credential, in the credential holder\'s name', async () => {
      const authorization = await identity.bearer({ sub: 'pipeline-a', roles: ['submitter'], projects: ['nats-valid'] });
      await nats.publish('agf.v1.intake.submit', JSON.stringify({ ...aDeploymentRequestInput({ projectId: 'nats-valid' }), requester: undefined }), 'run-valid', { Authorization: authorization });
      const [event] = await eventually(async () => {
        const found = await requestedFor('nats-valid');
        expect(found).toHaveLength(1);
        return found;
      });
      expect(event!.json<CloudEvent<'deployment.requested'>>().data).toMatchObject({
        projectId: 'nats-valid',
        requester: 'pipeline-a',
        receivedVia: 'nats',
        actor: { subject: 'pipeline-a', issuer: identity.issuer, channel: 'nats' },
      });
      expect(await rejectedFor('nats-valid')).toHaveLength(0);
    });
  });
});
