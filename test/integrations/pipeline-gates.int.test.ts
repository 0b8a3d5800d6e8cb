import type { CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { githubSignature } from '@agf/integrations-domain';
import { eventually, testIdentity } from '@agf/testing';
import { TestSystem } from '../governance/system';
import { FakeGitHub, FakeGitLab } from './fake-forges';

jest.setTimeout(180_000);

const WEBHOOK_SECRET = 'github-webhook-secret';
const GITLAB_WEBHOOK_TOKEN = 'gitlab-webhook-token';

/**
 * GitHub's custom deployment protection rule and GitLab's deployment approvals against the running system,
 * with local servers standing in for GitHub's and GitLab's APIs: the webhook creates the request, AGF decides,
 * and the final decision is answered once, as a GitHub App installation or with GitLab's access token.
 */
describe('pipeline gates (GitHub, GitLab, shadow mode)', () => {
  let system: TestSystem;
  let github: FakeGitHub;
  let gitlab: FakeGitLab;
  let integrations: string;

  beforeAll(async () => {
    github = await new FakeGitHub().start();
    gitlab = await new FakeGitLab().start();
    const identity = await testIdentity();
    system = await TestSystem.start('agf-config.integrations.yaml', {
      services: ['integrations'],
      env: {
        AGF_GITHUB_APP_ID: github.appId,
        AGF_GITHUB_PRIVATE_KEY: github.privateKeyPem,
        AGF_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        AGF_GITHUB_API_URL: github.url,
        AGF_GITLAB_URL: gitlab.url,
        AGF_GITLAB_TOKEN: gitlab.token,
        AGF_GITLAB_WEBHOOK_TOKEN: GITLAB_WEBHOOK_TOKEN,
        AGF_INTEGRATIONS_TOKEN: await identity.bearer({ sub: 'agf-integrations', roles: ['submitter'], projects: ['*'] }, { expiresIn: 3600 }),
        AGF_PUBLIC_URL: 'https://agf.example.com',
        AGF_CALLBACK_RETRY_BASE_MS: '200',
        AGF_CALLBACK_POLL_MS: '100',
      },
    });
    integrations = system.services.get('integrations')!.url;
  });

  afterAll(async () => {
    await system?.stop();
    await github?.stop();
    await gitlab?.stop();
  });

  let run = 1000;
  /** A `deployment_protection_rule` delivery as GitHub sends it to the App's webhook URL. */
  const protectionRule = (repository: string) => {
    run += 1;
    return {
      action: 'requested',
      environment: 'production',
      event: 'push',
      deployment_callback_url: `${github.url}/repos/${repository}/actions/runs/${run}/deployment_protection_rule`,
      deployment: { id: run, url: `${github.url}/repos/${repository}/deployments/${run}`, sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', ref: 'main', task: 'deploy', environment: 'production', creator: { login: 'octocat' } },
      repository: { id: 1296269, name: repository.split('/')[1], full_name: repository, owner: { login: repository.split('/')[0] } },
      installation: { id: 777 },
      sender: { login: 'octocat' },
    };
  };

  const postGithub = (payload: unknown, delivery: string, signature?: string) => {
    const body = JSON.stringify(payload);
    return fetch(`${integrations}/v1/integrations/github/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/044aadd',
        'x-github-event': 'deployment_protection_rule',
        'x-github-delivery': delivery,
        'x-github-hook-installation-target-type': 'integration',
        ...(signature === undefined ? { 'x-hub-signature-256': githubSignature(body, WEBHOOK_SECRET) } : signature ? { 'x-hub-signature-256': signature } : {}),
      },
      body,
    });
  };

  const gitlabDeployment = (deploymentId: number) => ({
    object_kind: 'deployment',
    status: 'blocked',
    status_changed_at: '2026-12-05 17:00:00 +0000',
    deployment_id: deploymentId,
    deployable_id: 796,
    deployable_url: `${gitlab.url}/acme/billing/-/jobs/796`,
    environment: 'production',
    environment_tier: 'production',
    project: { id: 30, name: 'billing', path_with_namespace: 'acme/billing', web_url: `${gitlab.url}/acme/billing` },
    short_sha: '279484c0',
    user: { id: 1, name: 'Alice', username: 'alice' },
    commit_url: `${gitlab.url}/acme/billing/-/commit/279484c09fbe69ededfced8c1bb6e6d24616b468`,
    commit_title: 'Add a price rule',
    ref: 'main',
  });

  const postGitlab = (payload: unknown, token?: string) =>
    fetch(`${integrations}/v1/integrations/gitlab/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Deployment Hook', 'user-agent': 'GitLab/17.6.0', ...(token ? { 'x-gitlab-token': token } : {}) },
      body: JSON.stringify(payload),
    });

  const requestsOfGate = async (gateKey: string) =>
    (await system.nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.>')).map((m) => m.json<CloudEvent<'deployment.requested'>>().data).filter((r) => r.metadata['gateKey'] === gateKey);

  const gatesStored = async (gateKey: string) => (await system.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "integrations"."gates" WHERE "gate_key" = $1`, [gateKey]))[0]!.n;

  const refusals = async () =>
    (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data).filter((r) => r.service === 'integrations');

  it('refuses a GitHub delivery with a missing or wrong signature: 401 problem, recorded, nothing created', async () => {
    const payload = protectionRule('octo-org/shop-api');
    const wrong = await postGithub(payload, 'bad-delivery-1', githubSignature(JSON.stringify(payload), 'not-the-secret'));
    const missing = await postGithub(payload, 'bad-delivery-2', '');
    const tampered = await postGithub({ ...payload, environment: 'staging' }, 'bad-delivery-3', githubSignature(JSON.stringify(payload), WEBHOOK_SECRET));
    for (const response of [wrong, missing, tampered]) {
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    await eventually(async () => expect((await refusals()).filter((r) => r.target === 'POST /v1/integrations/github/webhook')).toHaveLength(3));
    expect((await refusals())[0]).toMatchObject({ code: 'unauthenticated', channel: 'http', reason: expect.stringMatching(/X-Hub-Signature-256/) });
    for (const key of ['github:bad-delivery-1', 'github:bad-delivery-2', 'github:bad-delivery-3']) {
      expect(await gatesStored(key)).toBe(0);
      expect(await requestsOfGate(key)).toHaveLength(0);
    }
  });

  it('refuses a GitLab delivery with a missing or wrong token: 401, recorded, nothing created', async () => {
    const before = (await refusals()).length;
    expect((await postGitlab(gitlabDeployment(900), 'wrong-token')).status).toBe(401);
    expect((await postGitlab(gitlabDeployment(900))).status).toBe(401);
    await eventually(async () => expect((await refusals()).length).toBe(before + 2));
    expect(await gatesStored('gitlab:30:900')).toBe(0);
    expect(await requestsOfGate('gitlab:30:900')).toHaveLength(0);
  });

  it('gates a GitHub deployment: one request for a redelivered webhook, one approval callback as the App installation, even when decision.made comes again', async () => {
    github.failNextCallbacks = 1;
    const payload = protectionRule('octo-org/shop-api');
    const first = await postGithub(payload, 'delivery-ok-1');
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ status: 'submitted', gateKey: 'github:delivery-ok-1' });
    expect((await postGithub(payload, 'delivery-ok-1')).status).toBe(202);

    const [request] = await eventually(async () => {
      const requests = await requestsOfGate('github:delivery-ok-1');
      expect(requests).toHaveLength(1);
      return requests;
    });
    expect(request).toMatchObject({ projectId: 'shop-api', componentName: 'shop-api', requester: 'agf-integrations', metadata: { integration: 'github', repository: 'octo-org/shop-api', environment: 'production' } });
    const decision = await system.decision(request!.requestId);
    expect(decision.data.approved).toBe(true);
    expect(decision.data.shadow).toBeUndefined();

    const callback = await eventually(async () => {
      expect(github.callbacks).toHaveLength(1);
      return github.callbacks[0]!;
    }, 20_000);
    expect(callback.path).toBe(`/repos/octo-org/shop-api/actions/runs/${run}/deployment_protection_rule`);
    expect(callback.headers.authorization).toMatch(/^token ghs_installation_777_/);
    expect(callback.body).toEqual({ environment_name: 'production', state: 'approved', comment: expect.stringContaining(`https://agf.example.com/v1/deployment-requests/${request!.requestId}`) });
    expect(github.tokenRequests.length).toBeGreaterThanOrEqual(1);

    // The same decision delivered again (another message id, so JetStream does not drop it): no second callback.
    await system.nats.publish(`agf.v1.decision.made.${decision.data.projectId}`, JSON.stringify(decision), `again-${decision.id}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(github.callbacks).toHaveLength(1);
    const [row] = await system.db.query<{ attempts: number; sent: boolean }>(`SELECT "attempts", "sent_at" IS NOT NULL AS "sent" FROM "integrations"."callbacks" WHERE "gate_key" = 'github:delivery-ok-1'`);
    expect(row).toEqual({ attempts: 2, sent: true });
  });

  it('gates a GitLab deployment and approves it through the approvals API with the access token', async () => {
    const response = await postGitlab(gitlabDeployment(15), GITLAB_WEBHOOK_TOKEN);
    expect(response.status).toBe(202);
    // GitLab reports the same deployment again on its next status change: still one request.
    expect((await postGitlab({ ...gitlabDeployment(15), status: 'running' }, GITLAB_WEBHOOK_TOKEN)).status).toBe(202);
    const [request] = await eventually(async () => {
      const requests = await requestsOfGate('gitlab:30:15');
      expect(requests).toHaveLength(1);
      return requests;
    });
    expect(request!.projectId).toBe('shop-api');
    await system.decision(request!.requestId);
    const approval = await eventually(async () => {
      expect(gitlab.approvals).toHaveLength(1);
      return gitlab.approvals[0]!;
    }, 20_000);
    expect(approval.path).toBe('/api/v4/projects/30/deployments/15/approval');
    expect(approval.headers['private-token']).toBe(gitlab.token);
    expect(approval.body).toEqual({ status: 'approved', comment: expect.stringContaining(request!.requestId) });
  });

  it('marks decisions of a shadow-mode project, approves its gate saying what AGF would have done, and counts what it would have blocked', async () => {
    const payload = protectionRule('octo-org/shadow-shop');
    expect((await postGithub(payload, 'delivery-shadow-1')).status).toBe(202);
    const [request] = await eventually(async () => {
      const requests = await requestsOfGate('github:delivery-shadow-1');
      expect(requests).toHaveLength(1);
      return requests;
    });
    expect(request!.projectId).toBe('shadow-shop');
    const decision = await system.decision(request!.requestId);
    expect(decision.data.shadow).toBe(true);
    const callback = await eventually(async () => {
      const found = github.callbacks.find((c) => c.path.includes('/octo-org/shadow-shop/'));
      expect(found).toBeDefined();
      return found!;
    }, 20_000);
    expect(callback.body).toMatchObject({ state: 'approved', comment: expect.stringMatching(/^AGF shadow mode: approved without gating; AGF would have approved/) });

    // A shadow decision that would have blocked (as CoE publishes one after a rejecting review) is counted.
    await system.nats.publishEvent(
      'decision.made',
      { ...decision.data, requestId: '0b6f3c2e-3d1b-4f7a-9a55-6c3f0e1d2a10', outcome: 'BLOCK_WITH_FEEDBACK', approved: false, decisionRationale: 'Blocked: 1 of 1 review rejected the deployment.' },
      { correlationId: '0b6f3c2e-3d1b-4f7a-9a55-6c3f0e1d2a10', source: 'coe' },
    );
    const auditor = await system.auditor();
    const report = await eventually(async () => {
      const response = await fetch(`${integrations}/v1/projects/shadow-shop/shadow-report`, { headers: auditor });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { wouldHaveBlocked: number };
      expect(body.wouldHaveBlocked).toBe(1);
      return body;
    });
    expect(report).toMatchObject({ projectId: 'shadow-shop', mode: 'shadow', decisions: 2, wouldHaveBlocked: 1 });
    const metrics = await (await fetch(`${integrations}/metrics`, { headers: await system.identity.headers({ sub: 'prometheus', roles: ['metrics'] }) })).text();
    expect(metrics).toMatch(/agf_shadow_would_block_total\{project="shadow-shop",service="integrations"\} 1/);
    // Only admins and auditors read the report; anyone else is refused.
    expect((await fetch(`${integrations}/v1/projects/shadow-shop/shadow-report`, { headers: await system.submitter('shadow-shop') })).status).toBe(403);
  });

  it('lets an admin switch a project to shadow mode through the API: refused for others, announced, audited, and the next decision is shadow', async () => {
    const coe = system.services.get('coe')!.url;
    const put = async (headers: Record<string, string>, body: unknown, contentType = 'application/json') =>
      fetch(`${coe}/v1/projects/mode-shop/mode`, { method: 'PUT', headers: { ...headers, 'content-type': contentType }, body: JSON.stringify(body) });
    const admin = await system.identity.headers({ sub: 'admin-ada', roles: ['admin'] });

    expect((await put({}, { mode: 'shadow' })).status).toBe(401);
    const refusedSubmitter = await put(await system.submitter('mode-shop'), { mode: 'shadow' });
    expect(refusedSubmitter.status).toBe(403);
    expect(refusedSubmitter.headers.get('content-type')).toMatch(/application\/problem\+json/);
    await eventually(async () => expect((await (await fetch(`${coe}/v1/projects/mode-shop/mode`, { headers: admin })).json()) as object).toMatchObject({ mode: 'enforce', source: 'config' }));
    expect((await put(admin, { mode: 'sometimes' })).status).toBe(400);
    expect((await put(admin, { mode: 'shadow', extra: 1 })).status).toBe(400);
    expect((await fetch(`${coe}/v1/projects/not%20a%20project/mode`, { headers: admin })).status).toBe(400);
    const refusedAt = await eventually(async () => {
      const found = (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data).filter((r) => r.service === 'coe' && r.actor?.subject === 'ci-bot');
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    });
    expect(refusedAt[0]).toMatchObject({ code: 'forbidden', target: 'PUT /v1/projects/mode-shop/mode' });

    const set = await put(admin, { mode: 'shadow' });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ projectId: 'mode-shop', mode: 'shadow', source: 'api', changedBy: { subject: 'admin-ada' } });
    // Setting it again changes nothing and announces nothing.
    expect((await put(admin, { mode: 'shadow' })).status).toBe(200);
    const announced = (await system.nats.read('AGF_REGISTRY', 'agf.v1.registry.project.mode_changed.>')).map((m) => m.json<CloudEvent<'registry.project.mode_changed'>>().data);
    expect(announced.filter((a) => a.projectId === 'mode-shop')).toEqual([expect.objectContaining({ mode: 'shadow', previousMode: 'enforce', actor: expect.objectContaining({ subject: 'admin-ada' }) })]);
    await eventually(async () => {
      const audited = await system.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "compliance"."audit_entries" WHERE "event_type" = 'io.agf.registry.project.mode_changed.v1' AND "correlation_id" = 'mode-shop'`,
      );
      expect(audited[0]!.n).toBe(1);
    });

    const id = await system.submit(aDeploymentRequestInput({ projectId: 'mode-shop', changes: ['README.md'], riskIndicators: { codeChanges: 2, testsPassed: true, userImpact: 'low', affectedProjects: [] } }));
    expect((await system.decision(id)).data.shadow).toBe(true);
    await eventually(async () => {
      const report = (await (await fetch(`${integrations}/v1/projects/mode-shop/shadow-report`, { headers: await system.auditor() })).json()) as { mode: string; decisions: number };
      expect(report).toMatchObject({ mode: 'shadow', decisions: 1 });
    });
  });
});
