import { DeploymentRequestInput } from '@agf/contracts';
import { projectForRepository, readGithubWebhook, readGitlabWebhook } from './webhooks';

const githubEvent = {
  action: 'requested',
  environment: 'production',
  event: 'push',
  deployment_callback_url: 'https://api.github.com/repos/octo-org/shop-api/actions/runs/1234/deployment_protection_rule',
  deployment: { id: 42, sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', ref: 'main', task: 'deploy', creator: { login: 'octocat' } },
  installation: { id: 777 },
  repository: { full_name: 'octo-org/shop-api', name: 'shop-api' },
  sender: { login: 'octocat' },
};

describe('projectForRepository', () => {
  it('uses the configured project, else the sanitised repository name', () => {
    expect(projectForRepository('octo-org/shop-api', { 'octo-org/shop-api': 'shop' })).toBe('shop');
    expect(projectForRepository('octo-org/shop.api', {})).toBe('shop-api');
  });
});

describe('readGithubWebhook', () => {
  it('turns a requested protection rule into a valid submission keyed by the delivery', () => {
    const reading = readGithubWebhook('deployment_protection_rule', 'd-1', githubEvent, {});
    if (reading.kind !== 'gate') throw new Error(`expected a gate, got ${JSON.stringify(reading)}`);
    expect(reading.gate).toMatchObject({ gateKey: 'github:d-1', provider: 'github', projectId: 'shop-api', environment: 'production', installationId: 777, callbackUrl: githubEvent.deployment_callback_url });
    expect(DeploymentRequestInput.safeParse(reading.gate.submission).success).toBe(true);
    expect(reading.gate.submission.metadata).toMatchObject({ integration: 'github', gateKey: 'github:d-1', sha: githubEvent.deployment.sha, author: 'octocat' });
  });

  it('ignores other events and actions, and names what is wrong in a malformed one', () => {
    expect(readGithubWebhook('ping', 'd', {}, {}).kind).toBe('ignored');
    expect(readGithubWebhook('push', 'd', githubEvent, {}).kind).toBe('ignored');
    expect(readGithubWebhook('deployment_protection_rule', 'd', { ...githubEvent, action: 'completed' }, {}).kind).toBe('ignored');
    expect(readGithubWebhook('deployment_protection_rule', 'd', { ...githubEvent, deployment_callback_url: 'nope' }, {})).toEqual({ kind: 'invalid', reason: expect.stringContaining('deployment_callback_url') });
    expect(readGithubWebhook('deployment_protection_rule', undefined, githubEvent, {}).kind).toBe('invalid');
  });
});

describe('readGitlabWebhook', () => {
  const gitlabEvent = {
    object_kind: 'deployment',
    status: 'blocked',
    deployment_id: 15,
    deployable_id: 796,
    environment: 'production',
    project: { id: 30, name: 'billing', path_with_namespace: 'acme/billing' },
    short_sha: '279484c0',
    sha: '279484c09fbe69ededfced8c1bb6e6d24616b468',
    user: { username: 'alice' },
    ref: 'main',
  };

  it('turns a waiting deployment into one gate per deployment, answered at the approval endpoint', () => {
    const reading = readGitlabWebhook('Deployment Hook', gitlabEvent, 'https://gitlab.example.com/', { 'acme/billing': 'billing-svc' });
    if (reading.kind !== 'gate') throw new Error(`expected a gate, got ${JSON.stringify(reading)}`);
    expect(reading.gate).toMatchObject({ gateKey: 'gitlab:30:15', projectId: 'billing-svc', callbackUrl: 'https://gitlab.example.com/api/v4/projects/30/deployments/15/approval' });
    expect(DeploymentRequestInput.safeParse(reading.gate.submission).success).toBe(true);
  });

  it('ignores finished deployments and other hooks', () => {
    expect(readGitlabWebhook('Deployment Hook', { ...gitlabEvent, status: 'success' }, 'https://g', {}).kind).toBe('ignored');
    expect(readGitlabWebhook('Push Hook', gitlabEvent, 'https://g', {}).kind).toBe('ignored');
    expect(readGitlabWebhook('Deployment Hook', { ...gitlabEvent, deployment_id: 'x' }, 'https://g', {}).kind).toBe('invalid');
  });
});
