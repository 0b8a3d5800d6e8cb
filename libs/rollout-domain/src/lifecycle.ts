import type { RolloutPhase, RolloutStatus } from '@agf/contracts';

export type ReportResult =
  | { ok: true; status: RolloutStatus; changed: boolean; rollbackConfirmed: boolean; resumed: boolean }
  | { ok: false; code: 'not-started' | 'rollback-requested' | 'finished' | 'paused'; detail: string };

const TERMINAL: ReadonlySet<RolloutStatus> = new Set(['completed', 'aborted', 'rolled-back']);

export const isTerminal = (status: RolloutStatus): boolean => TERMINAL.has(status);

/** Whether the guard evaluates a rollout in this state (a paused rollout is still watched, as Flagger keeps checking). */
export const isWatched = (status: RolloutStatus): boolean => status === 'in-progress' || status === 'paused';

/**
 * The rollout's state machine: what a reported phase does to it. A requested rollback is confirmed only by
 * `aborted` or `rolled-back`; a paused rollout resumes on `started`/`progressing` (someone decided to go on) and
 * cannot complete while paused. The same report twice changes nothing.
 */
export function applyReport(current: RolloutStatus, phase: RolloutPhase): ReportResult {
  const to = (status: RolloutStatus, extra: Partial<{ rollbackConfirmed: boolean; resumed: boolean }> = {}): ReportResult => ({
    ok: true,
    status,
    changed: status !== current || phase === 'progressing',
    rollbackConfirmed: extra.rollbackConfirmed ?? false,
    resumed: extra.resumed ?? false,
  });
  if (isTerminal(current)) {
    if ((current === 'completed' && phase === 'completed') || (current === 'aborted' && phase === 'aborted') || (current === 'rolled-back' && phase === 'rolled-back')) {
      return { ok: true, status: current, changed: false, rollbackConfirmed: false, resumed: false };
    }
    return { ok: false, code: 'finished', detail: `the rollout is ${current}; a new deployment needs a new request` };
  }
  switch (current) {
    case 'not-started':
      if (phase === 'started') return to('in-progress');
      return { ok: false, code: 'not-started', detail: `report phase "started" before "${phase}"` };
    case 'in-progress':
      if (phase === 'started') return { ok: true, status: current, changed: false, rollbackConfirmed: false, resumed: false };
      if (phase === 'progressing') return to('in-progress');
      return to(phase);
    case 'paused':
      if (phase === 'started' || phase === 'progressing') return to('in-progress', { resumed: true });
      if (phase === 'completed') return { ok: false, code: 'paused', detail: 'the rollout is paused (inconclusive signals): resume it with "progressing" or end it with "aborted"' };
      return to(phase);
    case 'rollback-requested':
      if (phase === 'aborted' || phase === 'rolled-back') return to(phase, { rollbackConfirmed: true });
      return { ok: false, code: 'rollback-requested', detail: 'AGF requested a rollback: report "rolled-back" (or "aborted") once it is done' };
  }
  return { ok: false, code: 'finished', detail: `unknown state ${String(current)}` };
}

export interface EvaluationStep {
  consecutiveInconclusive: number;
  pause: boolean;
  rollback: boolean;
}

/** What one verdict does: a failure rolls back; `limit` inconclusive verdicts in a row pause a running rollout. */
export function afterVerdict(status: RolloutStatus, previousInconclusive: number, verdict: 'healthy' | 'failing' | 'inconclusive', limit: number): EvaluationStep {
  if (verdict === 'failing') return { consecutiveInconclusive: 0, pause: false, rollback: isWatched(status) };
  if (verdict === 'healthy') return { consecutiveInconclusive: 0, pause: false, rollback: false };
  const consecutiveInconclusive = previousInconclusive + 1;
  return { consecutiveInconclusive, pause: status === 'in-progress' && consecutiveInconclusive >= limit, rollback: false };
}

/** The rollback's SLA: a warning at 75 % of the target, a breach when it passes. */
export function rollbackTimeline(requestedAt: Date, targetMinutes: number): { warnAt: Date; dueAt: Date } {
  const targetMs = targetMinutes * 60_000;
  return { warnAt: new Date(requestedAt.getTime() + targetMs * 0.75), dueAt: new Date(requestedAt.getTime() + targetMs) };
}

/** Break-glass approvals and `metadata.priority: critical` requests are emergencies: tighter interval and thresholds. */
export function isEmergency(decision: { emergency?: unknown }, requestMetadata: Record<string, unknown> | undefined): boolean {
  return decision.emergency !== undefined || requestMetadata?.['priority'] === 'critical';
}

/** Fills `$project`, `$component`, `$version` and `$request` into a PromQL query (label values, quoted by the author). */
export function fillQuery(query: string, values: { project: string; component: string; version: string; request: string }): string {
  const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return query.replace(/\$(project|component|version|request)\b/g, (_, key: keyof typeof values) => escape(values[key]));
}
