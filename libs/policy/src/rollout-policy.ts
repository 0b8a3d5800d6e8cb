import { z } from 'zod';
import { PROJECT_ID_PATTERN } from '@agf/contracts';

const Seconds = (max: number) => z.number().int().min(1).max(max);

/** PromQL per signal name (`error_rate: 'sum(rate(...))'`); `$project`, `$component`, `$version`, `$request` are filled in. */
export const SignalQueries = z.record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'signal names must match [a-z][a-z0-9_]{0,63}'), z.string().min(1).max(4000));
export type SignalQueries = z.infer<typeof SignalQueries>;

/** How the guard treats a rollout: normal, or tighter for emergency deployments. */
export const RolloutGuardSettings = z.strictObject({
  /** How often a running rollout is evaluated (and Prometheus queried). */
  evaluation_interval_seconds: Seconds(3600).default(30),
  /** A reading older than this is no data. */
  signal_max_age_seconds: Seconds(86_400).default(120),
  /** Inconclusive evaluations in a row that pause the rollout (Argo Rollouts' `inconclusiveLimit`). */
  inconclusive_limit: z.number().int().min(1).max(100).default(3),
  /**
   * Multiplies every threshold: 1 keeps the decision's; below 1 tightens an `above` threshold (and loosens nothing:
   * a `below` threshold is divided by it, capped at 1 for a ratio).
   */
  threshold_factor: z.number().gt(0).max(1).default(1),
});
export type RolloutGuardSettings = z.infer<typeof RolloutGuardSettings>;

/**
 * `rollout:` in agf-config.yaml (optional): the rollout guard. Every key has a default, so a file without the
 * section guards rollouts with pushed signals every 30 s and rolls back against a 15-minute target.
 */
export const RolloutPolicy = z.strictObject({
  evaluation_interval_seconds: Seconds(3600).default(30),
  signal_max_age_seconds: Seconds(86_400).default(120),
  inconclusive_limit: z.number().int().min(1).max(100).default(3),
  /** A requested rollback must be confirmed within this; an SLA timer warns at 75 % and escalates when it passes. */
  rollback_target_minutes: z.number().int().min(1).max(1440).default(15),
  /** Break-glass approvals and requests with `metadata.priority: critical`. */
  emergency: RolloutGuardSettings.default({ evaluation_interval_seconds: 10, signal_max_age_seconds: 60, inconclusive_limit: 2, threshold_factor: 0.5 }),
  prometheus: z
    .strictObject({
      url: z.url(),
      timeout_seconds: Seconds(60).default(5),
      /** Queries for every project… */
      queries: SignalQueries.default({}),
      /** …and per project, replacing the defaults of the same name. */
      projects: z.record(z.string().regex(PROJECT_ID_PATTERN, 'project ids must match [A-Za-z0-9_-]{1,128}'), SignalQueries).default({}),
    })
    .optional(),
});
export type RolloutPolicy = z.infer<typeof RolloutPolicy>;

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = RolloutPolicy.parse({});

/** The guard's settings for one rollout. */
export function rolloutSettings(policy: RolloutPolicy | undefined, emergency: boolean): RolloutGuardSettings {
  const p = policy ?? DEFAULT_ROLLOUT_POLICY;
  if (emergency) return p.emergency;
  return { evaluation_interval_seconds: p.evaluation_interval_seconds, signal_max_age_seconds: p.signal_max_age_seconds, inconclusive_limit: p.inconclusive_limit, threshold_factor: 1 };
}

/** The PromQL queries of one project (its own replace the defaults of the same name). */
export function prometheusQueries(policy: RolloutPolicy | undefined, projectId: string): SignalQueries {
  const prometheus = policy?.prometheus;
  if (!prometheus) return {};
  return { ...prometheus.queries, ...(prometheus.projects[projectId] ?? {}) };
}
