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

/**
 * Aggregates deployment outcomes. Records without an outcome are still pending and ignored.
 * failureRate counts a rollback as a failure (the deployment did not stick);
 * rollbackRate isolates rollbacks alone. recentIncidents counts failures and rollbacks
 * reported in (now - windowDays, now]; the lower boundary itself is included.
 */
export function summarizeHistory(records: DeploymentRecord[], now: Date, recentWindowDays = 30): HistoryStats {
  const completed = records.filter((record) => record.outcome !== null);
  const failures = completed.filter((record) => record.outcome === 'failed').length;
  const rollbacks = completed.filter((record) => record.outcome === 'rolled_back').length;
  const deployments = completed.length;

  const nowMs = now.getTime();
  const windowStartMs = nowMs - recentWindowDays * MS_PER_DAY;
  let lastFailureMs: number | null = null;
  let recentIncidents = 0;
  for (const record of completed) {
    if (!isIncident(record.outcome)) continue;
    const reportedMs = parseTime(record.reportedAt);
    if (reportedMs === null) continue;
    if (lastFailureMs === null || reportedMs > lastFailureMs) lastFailureMs = reportedMs;
    if (reportedMs >= windowStartMs && reportedMs <= nowMs) recentIncidents += 1;
  }

  return {
    deployments,
    failures,
    rollbacks,
    failureRate: deployments === 0 ? 0 : (failures + rollbacks) / deployments,
    rollbackRate: deployments === 0 ? 0 : rollbacks / deployments,
    lastFailureAt: lastFailureMs === null ? null : new Date(lastFailureMs).toISOString(),
    recentIncidents,
  };
}
