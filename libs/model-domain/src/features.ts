/** The 14 classic change metrics of Kamei et al. 2013, in the order every model uses them. */
export const CHANGE_METRICS = ['ns', 'nd', 'nf', 'entropy', 'la', 'ld', 'lt', 'fix', 'ndev', 'age', 'nuc', 'exp', 'rexp', 'sexp'] as const;
export type ChangeMetricName = (typeof CHANGE_METRICS)[number];
export type ChangeMetrics = Record<ChangeMetricName, number>;

/** Spellings found in public data sets, mapped to AGF's names (`entrophy` is the Zeng et al. files' typo). */
export const METRIC_ALIASES: Readonly<Record<string, ChangeMetricName>> = {
  entrophy: 'entropy',
  ent: 'entropy',
  nm: 'nd',
  pd: 'age',
  aexp: 'exp',
  arexp: 'rexp',
  asexp: 'sexp',
};

/** One past change with its time (epoch seconds) and outcome (1 = defect-inducing / rolled back / incident). */
export interface LabelledChange {
  readonly time: number;
  readonly metrics: ChangeMetrics;
  readonly label: 0 | 1;
  readonly id?: string;
}

/**
 * Model input for one change: log1p of the 14 metrics (Kamei 2013 — the metrics are heavily right-skewed) plus a
 * few ratios of the same metrics that size-normalise churn and experience. Nothing here looks at labels or time.
 */
export const FEATURE_NAMES = [
  ...CHANGE_METRICS.map((m) => `log1p_${m}`),
  'churn_per_file',
  'added_share',
  'relative_churn',
  'subsystem_experience_share',
] as const;

const log1p = (value: number): number => Math.log1p(Math.max(0, Number.isFinite(value) ? value : 0));

export function featureVector(metrics: ChangeMetrics): number[] {
  const values = CHANGE_METRICS.map((name) => log1p(metrics[name]));
  const churn = Math.max(0, metrics.la) + Math.max(0, metrics.ld);
  const files = Math.max(1, metrics.nf);
  values.push(
    log1p(churn / files),
    churn > 0 ? Math.max(0, metrics.la) / churn : 0.5,
    log1p((100 * churn) / Math.max(1, metrics.lt + Math.max(0, metrics.la))),
    log1p(metrics.sexp) - log1p(metrics.exp),
  );
  return values;
}

/** Lines a reviewer must read: the effort measure of effort-aware evaluation (la + ld). */
export const churnOf = (metrics: ChangeMetrics): number => Math.max(0, metrics.la) + Math.max(0, metrics.ld);
