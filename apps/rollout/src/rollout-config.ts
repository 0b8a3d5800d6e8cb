import { ConfigError } from '@agf/platform';
import { z } from 'zod';

const Env = z.object({
  /**
   * The shared token Flagger's webhooks present (Flagger sends no credential of its own: put it in the webhook's
   * `metadata.token`, or an `Authorization: Bearer` header where a proxy adds one). Unset: the Flagger gate is refused.
   */
  AGF_ROLLOUT_WEBHOOK_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** How often the guard looks for due evaluations and rollback timers. */
  AGF_ROLLOUT_TICK_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
});

export interface RolloutConfig {
  webhookToken?: string;
  tickMs: number;
}

export const ROLLOUT_CONFIG = Symbol('ROLLOUT_CONFIG');

export function loadRolloutConfig(env: NodeJS.ProcessEnv = process.env): RolloutConfig {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    throw new ConfigError(`invalid environment for rollout:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return { webhookToken: parsed.data.AGF_ROLLOUT_WEBHOOK_TOKEN, tickMs: parsed.data.AGF_ROLLOUT_TICK_MS };
}
