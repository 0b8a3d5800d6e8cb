export interface BackoffSchedule {
  /** Delay after the first failure. */
  baseMs: number;
  /** No single wait is longer than this. */
  maxMs: number;
  /** How long a delivery is retried, from its creation, before it is dead-lettered (at least 24 h in production). */
  retryWindowMs: number;
}

export const DEFAULT_BACKOFF: BackoffSchedule = { baseMs: 5_000, maxMs: 3_600_000, retryWindowMs: 24 * 3_600_000 };

/**
 * Exponential backoff with "equal jitter": after the n-th failed attempt, wait between half and all of
 * `base × 2^(n-1)` (capped), so replicas retrying the same dead receiver spread out instead of knocking together.
 */
export function backoffDelayMs(failedAttempts: number, schedule: BackoffSchedule, random: () => number = Math.random): number {
  const exponential = Math.min(schedule.maxMs, schedule.baseMs * 2 ** Math.max(0, Math.min(failedAttempts - 1, 40)));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

export type AfterFailure = { status: 'pending'; nextAttemptAt: Date } | { status: 'dead' };

/**
 * What a failed attempt leads to: another try later, or the dead letters once an attempt failed after the
 * retry window was spent (so a delivery is tried for at least the whole window).
 */
export function afterFailure(createdAt: Date, failedAttempts: number, now: Date, schedule: BackoffSchedule, random: () => number = Math.random): AfterFailure {
  if (now.getTime() - createdAt.getTime() >= schedule.retryWindowMs) return { status: 'dead' };
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + backoffDelayMs(failedAttempts, schedule, random)) };
}
