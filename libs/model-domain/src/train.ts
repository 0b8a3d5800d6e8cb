import { calibrate, fitPlatt, type PlattCalibration } from './calibration';
import { CHANGE_METRICS, FEATURE_NAMES, featureVector, type ChangeMetrics, type LabelledChange } from './features';
import { fitGbdt, gbdtMargin, leafValue, type GbdtModel, type Tree } from './gbdt';
import { columnStats, fitLogistic, logisticMargin, standardize, type LogisticModel } from './logistic';
import { brierScore, rocAuc } from './metrics';

export const MODEL_FORMAT = 'agf-jit-risk-model';
export const MODEL_FORMAT_VERSION = 1;

export type LearnerConfig =
  | { readonly kind: 'logistic'; readonly c: number }
  | { readonly kind: 'gbdt'; readonly maxDepth: number; readonly learningRate: number; readonly maxTrees: number; readonly minChildWeight: number; readonly lambda: number; readonly subsample: number };

export interface CandidateConfig {
  readonly learner: LearnerConfig;
  /** Older changes count less: weight 0.5^(age / (halfLifeShare · span)); null = all rows count the same. */
  readonly recencyHalfLifeShare: number | null;
  /** Class imbalance: weight defect-inducing rows by clean/defective so both classes weigh the same. */
  readonly balanceClasses: boolean;
}

/** A trained, calibrated, versioned model: plain JSON, so it can be stored, sent and loaded anywhere. */
export interface RiskModel {
  readonly format: typeof MODEL_FORMAT;
  readonly formatVersion: typeof MODEL_FORMAT_VERSION;
  readonly version: string;
  /** null for the cross-project model. */
  readonly project: string | null;
  readonly trainedAt: string;
  readonly featureNames: readonly string[];
  readonly standardization: { mean: number[]; std: number[] };
  readonly config: CandidateConfig & { readonly trees?: number };
  readonly logistic?: LogisticModel;
  readonly gbdt?: GbdtModel;
  readonly calibration: PlattCalibration;
  /** `seconds`: wall time; `cpuSeconds`: this process's CPU time (what the training cost, whatever else the machine ran). */
  readonly training: { rows: number; positives: number; from: number; to: number; seconds: number; cpuSeconds: number };
  /** Measured on the latest 20 % of the training rows (out of time), by a model fitted on the earlier 80 %. */
  readonly validation: { rows: number; auc: number; brier: number; baseRateBrier: number };
}

export interface TrainOptions {
  readonly version: string;
  readonly project: string | null;
  readonly trainedAt: string;
  readonly candidates?: readonly CandidateConfig[];
  /** Share of the (time-ordered) training rows held out, at the end, for choosing hyper-parameters and calibrating. */
  readonly validationShare?: number;
  readonly seed?: number;
}

const gbdt = (maxDepth: number, learningRate: number, minChildWeight: number): LearnerConfig => ({ kind: 'gbdt', maxDepth, learningRate, maxTrees: 400, minChildWeight, lambda: 5, subsample: 0.8 });

/** The hyper-parameter grid searched by time-ordered validation inside the training part. */
export const DEFAULT_CANDIDATES: readonly CandidateConfig[] = [
  { learner: { kind: 'logistic', c: 1 }, recencyHalfLifeShare: null, balanceClasses: false },
  { learner: { kind: 'logistic', c: 1 }, recencyHalfLifeShare: 0.25, balanceClasses: false },
  ...[null, 0.25].flatMap((recencyHalfLifeShare) =>
    [gbdt(2, 0.05, 20), gbdt(3, 0.05, 20), gbdt(4, 0.03, 40)].map((learner) => ({ learner, recencyHalfLifeShare, balanceClasses: false })),
  ),
  { learner: gbdt(3, 0.05, 20), recencyHalfLifeShare: null, balanceClasses: true },
];

interface Prepared {
  readonly x: number[][];
  readonly y: number[];
  readonly time: number[];
}

const prepare = (rows: readonly LabelledChange[], stats?: { mean: number[]; std: number[] }): Prepared & { stats: { mean: number[]; std: number[] } } => {
  const raw = rows.map((row) => featureVector(row.metrics));
  const used = stats ?? columnStats(raw);
  return { x: raw.map((r) => standardize(r, used)), y: rows.map((r) => r.label), time: rows.map((r) => r.time), stats: used };
};

function sampleWeights(data: Prepared, config: CandidateConfig): number[] {
  const end = Math.max(...data.time);
  const start = Math.min(...data.time);
  const halfLife = config.recencyHalfLifeShare === null ? null : Math.max(1, config.recencyHalfLifeShare * (end - start));
  const positives = data.y.reduce((a, b) => a + b, 0);
  const positiveWeight = config.balanceClasses && positives > 0 ? (data.y.length - positives) / positives : 1;
  return data.y.map((label, i) => (halfLife === null ? 1 : 0.5 ** ((end - data.time[i]!) / halfLife)) * (label === 1 ? positiveWeight : 1));
}

const EARLY_STOPPING_TREES = 100;

/** The boosting start: the weighted log-odds of the rows' defect rate (as fitGbdt computes it). */
function baseMarginOf(data: Prepared, config: CandidateConfig): number {
  const weights = sampleWeights(data, config);
  let positive = 0;
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    positive += weights[i]! * data.y[i]!;
    total += weights[i]!;
  }
  const prior = Math.min(Math.max(positive / total, 1e-6), 1 - 1e-6);
  return Math.log(prior / (1 - prior));
}

interface Fitted {
  readonly logistic?: LogisticModel;
  readonly gbdt?: GbdtModel;
}

function fitCandidate(data: Prepared, config: CandidateConfig, seed: number, trees?: number, onTree?: (tree: Tree, count: number) => boolean): Fitted {
  const weights = sampleWeights(data, config);
  const learner = config.learner;
  if (learner.kind === 'logistic') return { logistic: fitLogistic(data.x, data.y, { c: learner.c, sampleWeights: weights }) };
  return {
    gbdt: fitGbdt(data.x, data.y, { trees: trees ?? learner.maxTrees, learningRate: learner.learningRate, maxDepth: learner.maxDepth, minChildWeight: learner.minChildWeight, lambda: learner.lambda, subsample: learner.subsample, seed, sampleWeights: weights }, onTree),
  };
}

/**
 * Chooses a candidate (and, for trees, the number of trees) by AUC on the latest `validationShare` of the rows,
 * fitted on the earlier ones; calibrates on those out-of-time predictions; refits the choice on all rows.
 * Only `rows` are read: whatever is evaluated later must not be passed in.
 */
export function trainRiskModel(rows: readonly LabelledChange[], options: TrainOptions): RiskModel {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const seed = options.seed ?? 7;
  const cut = Math.floor(rows.length * (1 - (options.validationShare ?? 0.2)));
  const fitPart = prepare(rows.slice(0, cut));
  const validationPart = prepare(rows.slice(cut), fitPart.stats);
  let best: { config: CandidateConfig; trees?: number; auc: number; margins: number[] } | undefined;
  for (const config of options.candidates ?? DEFAULT_CANDIDATES) {
    if (config.learner.kind === 'logistic') {
      const logistic = fitCandidate(fitPart, config, seed).logistic!;
      const margins = validationPart.x.map((row) => logisticMargin(logistic, row));
      const auc = rocAuc(validationPart.y, margins);
      if (!best || auc > best.auc) best = { config, auc, margins };
      continue;
    }
    // Boosting stops once validation AUC has not improved for EARLY_STOPPING_TREES trees.
    const margins = new Array<number>(validationPart.x.length).fill(baseMarginOf(fitPart, config));
    let bestTrees = 0;
    let bestAuc = -1;
    fitCandidate(fitPart, config, seed, undefined, (tree, count) => {
      for (let i = 0; i < margins.length; i++) margins[i]! += leafValue(tree, validationPart.x[i]!);
      if (count % 10 !== 0) return true;
      const auc = rocAuc(validationPart.y, margins);
      if (auc > bestAuc) {
        bestAuc = auc;
        bestTrees = count;
        if (!best || auc > best.auc) best = { config, trees: count, auc, margins: [...margins] };
      }
      return count - bestTrees < EARLY_STOPPING_TREES;
    });
  }
  if (!best) throw new Error('no candidate configuration to train');
  const calibration = fitPlatt(best.margins, validationPart.y);
  const all = prepare(rows);
  const fitted = fitCandidate(all, best.config, seed, best.trees);
  const positives = all.y.reduce((a, b) => a + b, 0);
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: options.version,
    project: options.project,
    trainedAt: options.trainedAt,
    featureNames: [...FEATURE_NAMES],
    standardization: all.stats,
    config: { ...best.config, ...(best.trees ? { trees: best.trees } : {}) },
    ...fitted,
    calibration,
    training: { rows: rows.length, positives, from: rows[0]?.time ?? 0, to: rows[rows.length - 1]?.time ?? 0, seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSecondsSince(cpuStarted) },
    validation: {
      rows: validationPart.y.length,
      auc: best.auc,
      brier: brierScore(validationPart.y, best.margins.map((m) => calibrate(calibration, m))),
      // What always predicting the earlier rows' defect rate would score: a model must do better to be used.
      baseRateBrier: brierScore(validationPart.y, validationPart.y.map(() => fitPart.y.reduce((a, b) => a + b, 0) / Math.max(1, fitPart.y.length))),
    },
  };
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export function modelMargin(model: RiskModel, metrics: ChangeMetrics): number {
  const row = standardize(featureVector(metrics), model.standardization);
  if (model.gbdt) return gbdtMargin(model.gbdt, row);
  if (model.logistic) return logisticMargin(model.logistic, row);
  throw new Error(`model ${model.version} has no learner`);
}

/** Calibrated probability that the change is defect-inducing. */
export const predictDefectProbability = (model: RiskModel, metrics: ChangeMetrics): number => calibrate(model.calibration, modelMargin(model, metrics));

/** Is this JSON a model this code can use? Checked before a received model is stored or used. */
export function isRiskModel(value: unknown): value is RiskModel {
  if (typeof value !== 'object' || value === null) return false;
  const model = value as Partial<RiskModel>;
  return (
    model.format === MODEL_FORMAT &&
    model.formatVersion === MODEL_FORMAT_VERSION &&
    typeof model.version === 'string' &&
    Array.isArray(model.featureNames) &&
    model.featureNames.length === FEATURE_NAMES.length &&
    Array.isArray(model.standardization?.mean) &&
    typeof model.calibration?.slope === 'number' &&
    (Array.isArray(model.gbdt?.trees) || Array.isArray(model.logistic?.weights))
  );
}

/** The change metrics of a request's indicators, when it carries all 14 (a boolean `fix` counts as 0/1). */
export function changeMetricsOf(indicators: Readonly<Record<string, unknown>>): ChangeMetrics | undefined {
  const metrics = {} as ChangeMetrics;
  for (const name of CHANGE_METRICS) {
    const raw = indicators[name];
    const value = typeof raw === 'boolean' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
    metrics[name] = value;
  }
  return metrics;
}
