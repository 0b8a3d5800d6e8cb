import type { DeploymentRequestInput } from '@agf/contracts';
import { z } from 'zod';

export type Provider = 'github' | 'gitlab';

/** A deployment waiting on AGF: what to submit, and where to answer once AGF has decided. */
export interface Gate {
  /** Stable per deployment event: the submission's `Nats-Msg-Id`, so a redelivered webhook creates nothing twice. */
  gateKey: string;
  provider: Provider;
  projectId: string;
  environment: string;
  /** GitHub: the event's `deployment_callback_url`; GitLab: the approval endpoint. */
  callbackUrl: string;
  /** GitHub: the App installation the callback authenticates as. */
  installationId?: number;
  submission: DeploymentRequestInput;
}

export type WebhookReading = { kind: 'gate'; gate: Gate } | { kind: 'ignored'; reason: string } | { kind: 'invalid'; reason: string };

/** `owner/repo` → AGF project: the configured one, else the repository name made a valid project id. */
export function projectForRepository(fullName: string, mapping: Record<string, string>): string {
  const configured = mapping[fullName] ?? mapping[fullName.toLowerCase()];
  if (configured) return configured;
  const name = fullName.split('/').pop() ?? fullName;
  const sanitised = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128);
  return sanitised || 'unnamed';
}

const GithubProtectionRule = z.looseObject({
  action: z.string(),
  environment: z.string().min(1).max(255),
  event: z.string().max(255).optional(),
  deployment_callback_url: z.url(),
  deployment: z.looseObject({
    id: z.number().int().optional(),
    sha: z.string().min(1).max(128),
    ref: z.string().max(255).optional(),
    task: z.string().max(255).optional(),
    creator: z.looseObject({ login: z.string() }).nullish(),
  }),
  installation: z.looseObject({ id: z.number().int().positive() }),
  repository: z.looseObject({ full_name: z.string().min(3).max(255), name: z.string().optional() }),
  sender: z.looseObject({ login: z.string() }).nullish(),
});

/**
 * Reads a `deployment_protection_rule` delivery (GitHub sends it with `action: "requested"` when a job
 * targets an environment protected by AGF's App). Other events and actions are acknowledged and ignored.
 */
export function readGithubWebhook(eventName: string | undefined, deliveryId: string | undefined, payload: unknown, projects: Record<string, string>): WebhookReading {
  if (eventName === 'ping') return { kind: 'ignored', reason: 'ping' };
  if (eventName !== 'deployment_protection_rule') return { kind: 'ignored', reason: `event ${eventName ?? '(none)'} is not deployment_protection_rule` };
  if (!deliveryId || !/^[A-Za-z0-9-]{1,128}$/.test(deliveryId)) return { kind: 'invalid', reason: 'X-GitHub-Delivery: expected the delivery GUID' };
  const parsed = GithubProtectionRule.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: describe(parsed.error) };
  const event = parsed.data;
  if (event.action !== 'requested') return { kind: 'ignored', reason: `action ${event.action}` };
  const repository = event.repository.full_name;
  const projectId = projectForRepository(repository, projects);
  const sha = event.deployment.sha;
  const requester = event.deployment.creator?.login ?? event.sender?.login;
  return {
    kind: 'gate',
    gate: {
      gateKey: `github:${deliveryId}`,
      provider: 'github',
      projectId,
      environment: event.environment,
      callbackUrl: event.deployment_callback_url,
      installationId: event.installation.id,
      submission: {
        projectId,
        componentName: (event.repository.name ?? repository.split('/').pop() ?? repository).slice(0, 256),
        version: sha.slice(0, 128),
        changes: [`GitHub deployment of ${repository}@${sha.slice(0, 12)}${event.deployment.ref ? ` (${event.deployment.ref})` : ''} to ${event.environment}`],
        riskIndicators: {},
        metadata: {
          integration: 'github',
          gateKey: `github:${deliveryId}`,
          repository,
          environment: event.environment,
          sha,
          ...(event.deployment.ref ? { ref: event.deployment.ref } : {}),
          ...(event.event ? { trigger: event.event } : {}),
          ...(requester ? { author: requester.slice(0, 256) } : {}),
        },
      },
    },
  };
}

const GitlabDeployment = z.looseObject({
  object_kind: z.literal('deployment'),
  status: z.string().max(64),
  deployment_id: z.number().int().positive(),
  environment: z.string().min(1).max(255),
  sha: z.string().min(1).max(128).optional(),
  short_sha: z.string().max(64).optional(),
  ref: z.string().max(255).optional(),
  project: z.looseObject({ id: z.number().int().positive(), path_with_namespace: z.string().min(1).max(255), name: z.string().optional() }),
  user: z.looseObject({ username: z.string() }).nullish(),
});

/** Final statuses: the deployment no longer waits on anyone. */
const GITLAB_FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);

/**
 * Reads a GitLab deployment event (`X-Gitlab-Event: Deployment Hook`). A deployment still waiting
 * (`created`, `blocked` by a protected environment's approval rule, `running`) becomes a gate; one per
 * deployment, however many status changes GitLab reports for it.
 */
export function readGitlabWebhook(eventName: string | undefined, payload: unknown, gitlabUrl: string, projects: Record<string, string>): WebhookReading {
  if (eventName !== 'Deployment Hook') return { kind: 'ignored', reason: `event ${eventName ?? '(none)'} is not Deployment Hook` };
  const parsed = GitlabDeployment.safeParse(payload);
  if (!parsed.success) return { kind: 'invalid', reason: describe(parsed.error) };
  const event = parsed.data;
  if (GITLAB_FINISHED.has(event.status)) return { kind: 'ignored', reason: `status ${event.status}` };
  const repository = event.project.path_with_namespace;
  const projectId = projectForRepository(repository, projects);
  const gateKey = `gitlab:${event.project.id}:${event.deployment_id}`;
  const sha = event.sha ?? event.short_sha ?? `deployment-${event.deployment_id}`;
  return {
    kind: 'gate',
    gate: {
      gateKey,
      provider: 'gitlab',
      projectId,
      environment: event.environment,
      callbackUrl: `${gitlabUrl.replace(/\/$/, '')}/api/v4/projects/${event.project.id}/deployments/${event.deployment_id}/approval`,
      submission: {
        projectId,
        componentName: (event.project.name ?? repository.split('/').pop() ?? repository).slice(0, 256),
        version: sha.slice(0, 128),
        changes: [`GitLab deployment ${event.deployment_id} of ${repository}@${sha.slice(0, 12)}${event.ref ? ` (${event.ref})` : ''} to ${event.environment}`],
        riskIndicators: {},
        metadata: {
          integration: 'gitlab',
          gateKey,
          repository,
          environment: event.environment,
          deploymentId: event.deployment_id,
          ...(event.ref ? { ref: event.ref } : {}),
          ...(event.user?.username ? { author: event.user.username.slice(0, 256) } : {}),
        },
      },
    },
  };
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}
