import type { Criterion } from './criteria';
import { type Reading, signalsFor } from './signals';

export type Verdict = 'healthy' | 'failing' | 'inconclusive';

export interface CriterionOutcome extends Criterion {
  observed: number | null;
  signal: string | null;
  status: 'pass' | 'fail' | 'no-data';
}

export interface Evaluation {
  verdict: Verdict;
  criteria: CriterionOutcome[];
  failed: CriterionOutcome[];
  /** When the newest reading that failed a criterion was taken: what the 60-second rollback is timed from. */
  failingSignalAt: string | null;
}

/** The newest reading of each signal not older than `maxAgeSeconds`. */
export function freshReadings(readings: readonly Reading[], now: Date, maxAgeSeconds: number): Map<string, Reading> {
  const newest = new Map<string, Reading>();
  const oldest = now.getTime() - maxAgeSeconds * 1000;
  for (const reading of readings) {
    const at = Date.parse(reading.at);
    if (Number.isNaN(at) || at < oldest) continue;
    const held = newest.get(reading.name);
    if (!held || Date.parse(held.at) <= at) newest.set(reading.name, reading);
  }
  return newest;
}

/**
 * Checks every criterion against the freshest readings. Any failing criterion: `failing`. Every criterion answered
 * and passing: `healthy`. Otherwise (a criterion without a fresh reading, or no criteria at all): `inconclusive`,
 * never `healthy`.
 */
export function evaluate(criteria: readonly Criterion[], readings: readonly Reading[], now: Date, maxAgeSeconds: number): Evaluation {
  const fresh = freshReadings(readings, now, maxAgeSeconds);
  const outcomes: CriterionOutcome[] = criteria.map((criterion) => {
    for (const { signal, convert } of signalsFor(criterion.metric, criterion.unit)) {
      const reading = fresh.get(signal);
      if (!reading) continue;
      // Unit conversion leaves float noise (0.07 × 100 = 7.000000000000001): nine decimals are plenty.
      const observed = Math.round(convert(reading) * 1e9) / 1e9;
      const breached = criterion.comparison === 'above' ? observed > criterion.threshold : observed < criterion.threshold;
      return { ...criterion, observed, signal, status: breached ? 'fail' : 'pass' };
    }
    return { ...criterion, observed: null, signal: null, status: 'no-data' };
  });
  const failed = outcomes.filter((o) => o.status === 'fail');
  const verdict: Verdict = failed.length ? 'failing' : outcomes.length && outcomes.every((o) => o.status === 'pass') ? 'healthy' : 'inconclusive';
  const failingTimes = failed.map((o) => Date.parse(fresh.get(o.signal!)!.at));
  return { verdict, criteria: outcomes, failed, failingSignalAt: failingTimes.length ? new Date(Math.max(...failingTimes)).toISOString() : null };
}

/**
 * The re-assessed risk: the pre-deployment score with the live signals as one more factor. A failing criterion
 * makes it 1; no data adds a quarter of the remaining headroom (not knowing is a risk); healthy signals add up to
 * half of it, in proportion to how near the nearest `above` threshold they run.
 */
export function liveRisk(preDeploymentScore: number, evaluation: Evaluation): { score: number; factors: string[] } {
  const headroom = 1 - preDeploymentScore;
  if (evaluation.verdict === 'failing') {
    return { score: 1, factors: evaluation.failed.map((f) => `live signal ${f.signal}: ${describe(f)} breaks ${f.metric} ${f.comparison} ${f.threshold}${unitText(f.unit)}`) };
  }
  if (evaluation.verdict === 'inconclusive') {
    const missing = evaluation.criteria.filter((c) => c.status === 'no-data').map((c) => c.metric);
    return {
      score: round(preDeploymentScore + headroom * 0.25),
      factors: [missing.length ? `no fresh live signal for ${missing.join(', ')}` : 'no criteria to check the live signals against'],
    };
  }
  const pressures = evaluation.criteria.filter((c) => c.comparison === 'above' && c.threshold > 0).map((c) => Math.min(1, Math.max(0, c.observed! / c.threshold)));
  const pressure = pressures.length ? Math.max(...pressures) : 0;
  return {
    score: round(preDeploymentScore + headroom * 0.5 * pressure),
    factors: [`live signals healthy: ${evaluation.criteria.map((c) => `${c.metric} ${describe(c)}`).join(', ')}${pressure ? ` (at ${Math.round(pressure * 100)} % of the nearest limit)` : ''}`],
  };
}

const describe = (c: CriterionOutcome): string => `${round(c.observed ?? 0)}${unitText(c.unit)}`;
const unitText = (unit: string): string => (unit === '%' ? '%' : unit ? ` ${unit}` : '');
const round = (value: number): number => Math.round(value * 10_000) / 10_000;
