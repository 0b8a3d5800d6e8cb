import { type BackoffSchedule, parseAllowedHosts, type RecipientDirectory, unknownRouteRecipients } from '@agf/notify-domain';
import type { ExpertRegistryReplica } from '@agf/platform';
import { type GovernancePolicy, NotificationsPolicy, registeredExperts, resolveNotificationVariables } from '@agf/policy';
import { z } from 'zod';

const Int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The notify service's own settings (the infrastructure ones are the platform's). */
const NotifyEnv = z.object({
  /** Wait after a delivery's first failure; it doubles with each further one (with jitter). */
  AGF_NOTIFY_BACKOFF_MS: Int(1, 3_600_000).default(5_000),
  AGF_NOTIFY_BACKOFF_MAX_MS: Int(1, 86_400_000).default(3_600_000),
  /** How long a delivery is retried before it is dead-lettered: at least 24 h unless a test shortens it. */
  AGF_NOTIFY_RETRY_WINDOW_MS: Int(1, 30 * 86_400_000).default(24 * 3_600_000),
  /** Deliveries in flight at once per process. */
  AGF_NOTIFY_CONCURRENCY: Int(1, 256).default(8),
  AGF_NOTIFY_POLL_MS: Int(10, 60_000).default(1_000),
  AGF_NOTIFY_SEND_TIMEOUT_MS: Int(100, 120_000).default(10_000),
  /**
   * Events older than this are recorded but not notified: a notify joining a running system reads the streams from
   * their start, and must not page people about last week.
   */
  AGF_NOTIFY_MAX_EVENT_AGE_MS: Int(1000, 30 * 86_400_000).default(24 * 3_600_000),
  /** Hosts (names or addresses) that webhook subscriptions may reach although they resolve to private addresses. */
  AGF_NOTIFY_ALLOWED_HOSTS: z.string().default(''),
});

export interface NotifyConfig {
  notifications: NotificationsPolicy;
  backoff: BackoffSchedule;
  concurrency: number;
  pollMs: number;
  sendTimeoutMs: number;
  maxEventAgeMs: number;
  allowedHosts: ReadonlySet<string>;
}

export class NotifyConfigError extends Error {
  override name = 'NotifyConfigError';
}

/** The `notifications:` section with its secrets substituted, and the service's settings; every error names the key. */
export function loadNotifyConfig(policy: GovernancePolicy, env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const parsed = NotifyEnv.safeParse(env);
  if (!parsed.success) throw new NotifyConfigError(`invalid environment for notify:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  let notifications: NotificationsPolicy;
  try {
    notifications = resolveNotificationVariables(policy.notifications ?? NotificationsPolicy.parse({}), env);
  } catch (error) {
    throw new NotifyConfigError(`agf-config.yaml notifications:\n${(error as Error).message}`);
  }
  const unknown = unknownRouteRecipients(notifications.routes, new Set(registeredExperts(policy).map((expert) => expert.id)));
  if (unknown.length) throw new NotifyConfigError(`agf-config.yaml notifications.routes: to names no expert: ${unknown.join(', ')}`);
  const e = parsed.data;
  return {
    notifications,
    backoff: { baseMs: e.AGF_NOTIFY_BACKOFF_MS, maxMs: Math.max(e.AGF_NOTIFY_BACKOFF_MS, e.AGF_NOTIFY_BACKOFF_MAX_MS), retryWindowMs: e.AGF_NOTIFY_RETRY_WINDOW_MS },
    concurrency: e.AGF_NOTIFY_CONCURRENCY,
    pollMs: e.AGF_NOTIFY_POLL_MS,
    sendTimeoutMs: e.AGF_NOTIFY_SEND_TIMEOUT_MS,
    maxEventAgeMs: e.AGF_NOTIFY_MAX_EVENT_AGE_MS,
    allowedHosts: parseAllowedHosts(e.AGF_NOTIFY_ALLOWED_HOSTS),
  };
}

/**
 * People's addresses from `agf-config.yaml`'s experts. The expert registry's replica (managed through the API)
 * is to replace it: the interface is all routing knows.
 */
export class PolicyRecipientDirectory implements RecipientDirectory {
  private readonly experts: ReturnType<typeof registeredExperts>;

  constructor(policy: GovernancePolicy) {
    this.experts = registeredExperts(policy);
  }

  emailOf(expertId: string): string | undefined {
    return this.experts.find((expert) => expert.id === expertId)?.email;
  }

  phoneOf(expertId: string): string | undefined {
    return this.experts.find((expert) => expert.id === expertId)?.phone;
  }

  oversightExperts(): string[] {
    return this.experts.filter((expert) => expert.expertType === 'human_oversight').map((expert) => expert.id);
  }
}

/**
 * Addresses as coe's registry announced them (an expert added or changed through its API counts without a
 * restart), else as agf-config.yaml gives them (coe seeds the registry from it, so they agree once announced).
 */
export class RegistryRecipientDirectory implements RecipientDirectory {
  private readonly configured: PolicyRecipientDirectory;

  constructor(
    policy: GovernancePolicy,
    private readonly registry: ExpertRegistryReplica,
  ) {
    this.configured = new PolicyRecipientDirectory(policy);
  }

  emailOf(expertId: string): string | undefined {
    return this.registry.announced(expertId) ? this.registry.find(expertId)?.email : this.configured.emailOf(expertId);
  }

  phoneOf(expertId: string): string | undefined {
    return this.registry.announced(expertId) ? this.registry.find(expertId)?.phone : this.configured.phoneOf(expertId);
  }

  oversightExperts(): string[] {
    const announced = this.registry.all().filter((expert) => expert.expertType === 'human_oversight').map((expert) => expert.id);
    const notYetAnnounced = this.configured.oversightExperts().filter((id) => !this.registry.announced(id));
    return [...announced, ...notYetAnnounced];
  }
}

export const NOTIFY_CONFIG = Symbol('NOTIFY_CONFIG');
export const RECIPIENT_DIRECTORY = Symbol('RECIPIENT_DIRECTORY');
