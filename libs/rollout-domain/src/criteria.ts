import type { MonitoringRequirement, RollbackPlan } from '@agf/contracts';

/** One threshold the rollout is held to. */
export interface Criterion {
  metric: string;
  comparison: 'above' | 'below';
  threshold: number;
  unit: string;
  source: 'monitoring-requirement' | 'rollback-criterion';
}

/** `http_error_rate above 1% for 5 minutes`, `http_latency_p99 above 500 ms`: what coe writes into a rollback plan. */
const CONDITION = /^\s*([a-z][a-z0-9_]*)\s+(above|below|>|<)\s+(-?\d+(?:\.\d+)?)\s*(%|[a-z]+)?/i;

/** A rollback plan's trigger condition as a criterion, or undefined when it is prose AGF cannot check. */
export function parseTriggerCondition(condition: string): Criterion | undefined {
  const match = CONDITION.exec(condition);
  if (!match) return undefined;
  const comparison = match[2] === '>' || match[2]!.toLowerCase() === 'above' ? 'above' : 'below';
  return { metric: match[1]!.toLowerCase(), comparison, threshold: Number(match[3]), unit: match[4] ?? '', source: 'rollback-criterion' };
}

/**
 * The criteria of a decision: its monitoring requirements and the checkable trigger conditions of its rollback
 * plan, once each. `thresholdFactor` below 1 tightens them (emergency deployments): an `above` threshold is
 * multiplied by it, a `below` one divided (a ratio stays at most 1).
 */
export function criteriaOf(decision: { monitoringRequirements: MonitoringRequirement[]; rollbackPlan: RollbackPlan | null }, thresholdFactor = 1): Criterion[] {
  const all: Criterion[] = [
    ...decision.monitoringRequirements.map((m) => ({ metric: m.metric, comparison: m.comparison, threshold: m.threshold, unit: m.unit, source: 'monitoring-requirement' as const })),
    ...(decision.rollbackPlan?.triggerConditions ?? []).flatMap((c) => parseTriggerCondition(c) ?? []),
  ];
  const seen = new Set<string>();
  const unique: Criterion[] = [];
  for (const criterion of all) {
    const key = `${criterion.metric}|${criterion.comparison}|${criterion.threshold}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(tighten(criterion, thresholdFactor));
  }
  return unique;
}

function tighten(criterion: Criterion, factor: number): Criterion {
  if (factor === 1) return criterion;
  if (criterion.comparison === 'above') return { ...criterion, threshold: round(criterion.threshold * factor) };
  const loosened = criterion.threshold / factor;
  return { ...criterion, threshold: round(criterion.unit === 'ratio' ? Math.min(1, loosened) : loosened) };
}

const round = (value: number): number => Math.round(value * 1e6) / 1e6;
