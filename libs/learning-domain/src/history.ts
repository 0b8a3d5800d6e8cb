import type { HistoryStats } from '@agf/contracts';

export type OutcomeStatus = 'succeeded' | 'failed' | 'rolled_back';

export interface DeploymentRecord {
  requestId: string;
  outcome: OutcomeStatus | null;
  reportedAt: string | null;
}

const MS_PER_DAY = 24 * 60 * 60 * 1000;

function isIncident(outcome: OutcomeStatus | null): boolean {
  return outcome === 'failed' || outcome === 'rolled_back';
}

function parseTime(iso: string | null): number | null {
  if (!iso) return null;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : time;
}

/** What a history is made of: the outcomes counted, and when incidents were reported. */
export interface OutcomeCounts {
  /** Deployments with a reported outcome. */
  deployments: number;
  failures: number;
  rollbacks: number;
  /** The latest report of a failure or rollback. */
  lastFailureAt: string | null;
  /** Failures and rollbacks reported in the recent window. */
  recentIncidents: number;
}

export const RECENT_WINDOW_DAYS = 30;

/** The recent window for incidents: [now - days, now], both boundaries included. */
export function recentWindow(now: Date, days = RECENT_WINDOW_DAYS): { from: Date; to: Date } {
  return { from: new Date(now.getTime() - days * MS_PER_DAY), to: now };
}

/**
 * Counts deployment outcomes. Records without an outcome are still pending and ignored. The learning
 * service counts the same in SQL (a project's outcomes are not loaded); this is the definition its test
 * holds the SQL to.
 */
export function countOutcomes(records: DeploymentRecord[], now: Date, recentWindowDays = RECENT_WINDOW_DAYS): OutcomeCounts {
  const completed = records.filter((record) => record.outcome !== null);
  const window = recentWindow(now, recentWindowDays);
  let lastFailureMs: number | null = null;
  let recentIncidents = 0;
  for (const record of completed) {
    if (!isIncident(record.outcome)) continue;
    const reportedMs = parseTime(record.reportedAt);
    if (reportedMs === null) continue;
    if (lastFailureMs === null || reportedMs > lastFailureMs) lastFailureMs = reportedMs;
    if (reportedMs >= window.from.getTime() && reportedMs <= window.to.getTime()) recentIncidents += 1;
  }
  return {
    deployments: completed.length,
    failures: completed.filter((record) => record.outcome === 'failed').length,
    rollbacks: completed.filter((record) => record.outcome === 'rolled_back').length,
    lastFailureAt: lastFailureMs === null ? null : new Date(lastFailureMs).toISOString(),
    recentIncidents,
  };
}

/**
 * The history risk scores with. failureRate counts a rollback as a failure (the deployment did not stick);
 * rollbackRate isolates rollbacks alone.
 */
export function historyStats(counts: OutcomeCounts): HistoryStats {
  const { deployments, failures, rollbacks } = counts;
  return {
    deployments,
    failures,
    rollbacks,
    failureRate: deployments === 0 ? 0 : (failures + rollbacks) / deployments,
    rollbackRate: deployments === 0 ? 0 : rollbacks / deployments,
    lastFailureAt: counts.lastFailureAt,
    recentIncidents: counts.recentIncidents,
  };
}

/** Aggregates deployment outcomes into the history risk scores with (see countOutcomes and historyStats). */
export function summarizeHistory(records: DeploymentRecord[], now: Date, recentWindowDays = RECENT_WINDOW_DAYS): HistoryStats {
  return historyStats(countOutcomes(records, now, recentWindowDays));
}
