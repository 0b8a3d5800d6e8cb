import { churnOf, CHANGE_METRICS, type LabelledChange } from './features';
import { columnStats, fitLogistic, logisticMargin, sigmoid, standardize } from './logistic';
import { brierScore, f1Score, recallAtEffort, rocAuc } from './metrics';
import { predictDefectProbability, trainRiskModel, type CandidateConfig, type RiskModel } from './train';

export interface EvaluationResult {
  readonly project: string;
  readonly mode: 'time-wise' | 'online' | 'lr-jit-reproduction';
  readonly rows: number;
  readonly train: number;
  readonly test: number;
  readonly auc: number;
  readonly brier: number;
  readonly f1: number;
  readonly recallAt20PercentEffort: number;
  readonly trainSeconds: number;
  /** CPU seconds of the training (the wall time above also counts whatever else the machine ran). */
  readonly trainCpuSeconds?: number;
  readonly predictMicroseconds?: number;
  readonly model?: { learner: string; maxDepth?: number; learningRate?: number; trees?: number; recencyHalfLifeShare: number | null; balanceClasses: boolean; validationAuc: number };
  readonly retrains?: number;
}

/** The data README's split: the first floor(0.8·n) rows (time order) train, the rest test. */
export function timeWiseSplit<T>(rows: readonly T[], trainShare = 0.8): { train: T[]; test: T[] } {
  const cut = Math.floor(trainShare * rows.length);
  return { train: rows.slice(0, cut), test: rows.slice(cut) };
}

const scoreSet = (project: string, mode: EvaluationResult['mode'], rows: number, train: number, test: readonly LabelledChange[], probabilities: number[], trainSeconds: number) => ({
  project,
  mode,
  rows,
  train,
  test: test.length,
  auc: rocAuc(
    test.map((r) => r.label),
    probabilities,
  ),
  brier: brierScore(
    test.map((r) => r.label),
    probabilities,
  ),
  f1: f1Score(
    test.map((r) => r.label),
    probabilities,
  ),
  recallAt20PercentEffort: recallAtEffort(
    test.map((r) => r.label),
    probabilities,
    test.map((r) => churnOf(r.metrics)),
  ),
  trainSeconds,
});

const describe = (model: RiskModel): EvaluationResult['model'] => ({
  learner: model.config.learner.kind,
  ...(model.config.learner.kind === 'gbdt' ? { maxDepth: model.config.learner.maxDepth, learningRate: model.config.learner.learningRate } : {}),
  ...(model.config.trees ? { trees: model.config.trees } : {}),
  recencyHalfLifeShare: model.config.recencyHalfLifeShare,
  balanceClasses: model.config.balanceClasses,
  validationAuc: model.validation.auc,
});

/** Time-wise within-project evaluation: the model only ever sees the training rows. */
export function evaluateTimeWise(project: string, rows: readonly LabelledChange[], candidates?: readonly CandidateConfig[]): EvaluationResult & { model: NonNullable<EvaluationResult['model']> } {
  const { train, test } = timeWiseSplit(rows);
  const model = trainRiskModel(train, { version: `${project}-eval`, project, trainedAt: new Date(0).toISOString(), ...(candidates ? { candidates } : {}) });
  const started = performance.now();
  const probabilities = test.map((r) => predictDefectProbability(model, r.metrics));
  const predictMicroseconds = ((performance.now() - started) * 1000) / Math.max(1, test.length);
  return { ...scoreSet(project, 'time-wise', rows.length, train.length, test, probabilities, model.training.seconds), trainCpuSeconds: model.training.cpuSeconds, predictMicroseconds, model: describe(model)! };
}

/**
 * Online evaluation: every change from `warmUpShare` on is predicted by the newest model trained only on changes
 * before it (labels learned in time order); the model is retrained every `retrainEvery` changes, as a scheduled
 * retrain would do.
 */
export function evaluateOnline(project: string, rows: readonly LabelledChange[], options: { warmUpShare?: number; retrainEvery?: number; candidates?: readonly CandidateConfig[] } = {}): EvaluationResult {
  const start = Math.floor((options.warmUpShare ?? 0.2) * rows.length);
  const every = options.retrainEvery ?? Math.ceil((rows.length - start) / 8);
  const predicted: LabelledChange[] = [];
  const probabilities: number[] = [];
  let trainSeconds = 0;
  let trainCpuSeconds = 0;
  let retrains = 0;
  for (let from = start; from < rows.length; from += every) {
    const model = trainRiskModel(rows.slice(0, from), { version: `${project}-online-${retrains}`, project, trainedAt: new Date(0).toISOString(), ...(options.candidates ? { candidates: options.candidates } : {}) });
    trainSeconds += model.training.seconds;
    trainCpuSeconds += model.training.cpuSeconds;
    retrains++;
    for (const row of rows.slice(from, from + every)) {
      predicted.push(row);
      probabilities.push(predictDefectProbability(model, row.metrics));
    }
  }
  return { ...scoreSet(project, 'online', rows.length, start, predicted, probabilities, trainSeconds), trainCpuSeconds, retrains };
}

/**
 * The authors' LR-JIT (Zeng et al. 2021): logistic regression (L2, C = 1) on the 14 raw metrics, with the train and
 * the test set each z-scored by their own mean and deviation. Used only to check the protocol against the README.
 */
export function evaluateAuthorsLogistic(project: string, rows: readonly LabelledChange[]): EvaluationResult {
  const started = performance.now();
  const { train, test } = timeWiseSplit(rows);
  const raw = (part: readonly LabelledChange[]) => part.map((r) => CHANGE_METRICS.map((m) => r.metrics[m]));
  const trainRaw = raw(train);
  const testRaw = raw(test);
  const trainStats = columnStats(trainRaw);
  const testStats = columnStats(testRaw);
  const model = fitLogistic(
    trainRaw.map((r) => standardize(r, trainStats)),
    train.map((r) => r.label),
    { c: 1, maxIterations: 200 },
  );
  const probabilities = testRaw.map((r) => sigmoid(logisticMargin(model, standardize(r, testStats))));
  return scoreSet(project, 'lr-jit-reproduction', rows.length, train.length, test, probabilities, (performance.now() - started) / 1000);
}
