import { FEATURE_NAMES, featureVector, type ChangeMetrics } from './features';
import { gbdtContributions } from './gbdt';
import { standardize } from './logistic';
import type { RiskModel } from './train';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const plural = (n: number, word: string, many = `${word}s`): string => `${count(n)} ${Math.round(n) === 1 ? word : many}`;
function ordinal(n: number): string {
  const k = Math.round(n);
  const suffix = k % 100 >= 11 && k % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[k % 10] ?? 'th';
  return `${count(k)}${suffix}`;
}

/** Plain words for what a model input says about this change. */
const PHRASES: Readonly<Record<string, (m: ChangeMetrics) => string>> = {
  log1p_ns: (m) => `touches ${plural(m.ns, 'subsystem')}`,
  log1p_nd: (m) => `spans ${plural(m.nd, 'directory', 'directories')}`,
  log1p_nf: (m) => `changes ${plural(m.nf, 'file')}`,
  log1p_entropy: (m) => `spreads its lines across files (entropy ${m.entropy.toFixed(2)})`,
  log1p_la: (m) => `${plural(m.la, 'line')} added`,
  log1p_ld: (m) => `${plural(m.ld, 'line')} deleted`,
  log1p_lt: (m) => `the touched files had ${plural(m.lt, 'line')} before`,
  log1p_fix: (m) => (m.fix ? 'a bug fix' : 'not a bug fix'),
  log1p_ndev: (m) => `${plural(m.ndev, 'developer')} changed these files before`,
  log1p_age: (m) => `the files last changed ${m.age.toFixed(1)} days before, on average`,
  log1p_nuc: (m) => `${plural(m.nuc, 'earlier change')} to these files`,
  log1p_exp: (m) => `the author's ${ordinal(m.exp + 1)} change`,
  log1p_rexp: (m) => `the author's recent experience is ${m.rexp.toFixed(1)} weighted changes`,
  log1p_sexp: (m) => `the author's ${ordinal(m.sexp + 1)} change in these subsystems`,
  churn_per_file: (m) => `${count((m.la + m.ld) / Math.max(1, m.nf))} changed lines per file`,
  added_share: (m) => `${Math.round((100 * m.la) / Math.max(1, m.la + m.ld))} % of the changed lines are additions`,
  relative_churn: (m) => `changes ${Math.round((100 * (m.la + m.ld)) / Math.max(1, m.lt + m.la))} % of the touched code`,
  subsystem_experience_share: (m) => `the author's ${ordinal(m.sexp + 1)} change in these subsystems`,
};

export interface Explanation {
  /** What raised the probability most, strongest first, in plain words. */
  readonly raising: string[];
  /** What lowered it most. */
  readonly lowering: string[];
}

/**
 * Which inputs drove this prediction: per-input contributions to the model's margin (tree path attribution for
 * boosted trees, coefficient × standardised value for logistic regression), the strongest three each way.
 */
export function explainPrediction(model: RiskModel, metrics: ChangeMetrics, limit = 3): Explanation {
  const row = standardize(featureVector(metrics), model.standardization);
  const contributions = model.gbdt ? gbdtContributions(model.gbdt, row) : row.map((v, j) => v * (model.logistic?.weights[j] ?? 0));
  const ranked = contributions.map((value, index) => ({ value, name: FEATURE_NAMES[index]! })).sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const phrases = (sign: 1 | -1): string[] => {
    const seen = new Set<string>();
    for (const c of ranked) {
      if (Math.sign(c.value) !== sign || Math.abs(c.value) < 0.02) continue;
      const phrase = PHRASES[c.name]?.(metrics);
      if (phrase) seen.add(phrase);
      if (seen.size >= limit) break;
    }
    return [...seen];
  };
  return { raising: phrases(1), lowering: phrases(-1) };
}
