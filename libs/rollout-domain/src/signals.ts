/** One health reading, pushed or pulled. */
export interface Reading {
  name: string;
  value: number;
  unit: string | null;
  at: string;
  source: 'pushed' | 'prometheus';
}

/** The well-known signal names and what they mean. */
export const WELL_KNOWN_SIGNALS = {
  error_rate: 'share of failed requests, a fraction 0..1',
  latency_p99_ms: '99th percentile latency in milliseconds',
  saturation: 'resource saturation, a fraction 0..1',
} as const;

/**
 * Which signals can answer a criterion's metric, and how to bring the reading into the criterion's unit. coe's
 * monitoring requirements name `http_error_rate` (in %) and `http_latency_p99` (in ms); a pipeline pushes
 * `error_rate` (a fraction) and `latency_p99_ms`. Any other metric is answered by a signal of the same name.
 */
export function signalsFor(metric: string, criterionUnit: string): Array<{ signal: string; convert: (reading: Reading) => number }> {
  const same = { signal: metric, convert: (r: Reading) => inUnit(r.value, r.unit, criterionUnit) };
  switch (metric) {
    case 'http_error_rate':
    case 'error_rate':
      return [same, { signal: metric === 'error_rate' ? 'http_error_rate' : 'error_rate', convert: (r) => inUnit(r.value, r.unit ?? (r.name === 'error_rate' ? 'ratio' : '%'), criterionUnit) }];
    case 'http_latency_p99':
    case 'latency_p99_ms':
      return [same, { signal: metric === 'latency_p99_ms' ? 'http_latency_p99' : 'latency_p99_ms', convert: (r) => inUnit(r.value, r.unit ?? 'ms', criterionUnit) }];
    default:
      return [same];
  }
}

const FRACTION_UNITS = new Set(['ratio', 'fraction']);

/** A value in one unit brought into another: fraction ↔ %, s ↔ ms; anything else is taken as it is. */
export function inUnit(value: number, from: string | null, to: string): number {
  if (!from || from === to) return value;
  if (FRACTION_UNITS.has(from) && to === '%') return value * 100;
  if (from === '%' && FRACTION_UNITS.has(to)) return value / 100;
  if (from === 's' && to === 'ms') return value * 1000;
  if (from === 'ms' && to === 's') return value / 1000;
  return value;
}
