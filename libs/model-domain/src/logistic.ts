/** Logistic regression fitted by Newton's method (IRLS); exact enough to match sklearn's lbfgs solution. */
export interface LogisticModel {
  readonly weights: number[];
  readonly intercept: number;
}

export interface LogisticOptions {
  /** Inverse L2 strength as in sklearn: the loss is sum(log-loss) + ||w||² / (2C); the intercept is not penalised. */
  readonly c?: number;
  readonly sampleWeights?: readonly number[];
  readonly maxIterations?: number;
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export function fitLogistic(x: readonly (readonly number[])[], y: readonly number[], options: LogisticOptions = {}): LogisticModel {
  const c = options.c ?? 1;
  const d = x[0]?.length ?? 0;
  const p = d + 1; // last coefficient is the intercept
  const beta = new Array<number>(p).fill(0);
  for (let iteration = 0; iteration < (options.maxIterations ?? 100); iteration++) {
    const gradient = new Array<number>(p).fill(0);
    const hessian = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < x.length; i++) {
      const row = x[i]!;
      const weight = options.sampleWeights?.[i] ?? 1;
      let z = beta[d]!;
      for (let j = 0; j < d; j++) z += beta[j]! * row[j]!;
      const prob = sigmoid(z);
      const residual = weight * (prob - y[i]!);
      const curvature = weight * Math.max(prob * (1 - prob), 1e-12);
      for (let j = 0; j < p; j++) {
        const xj = j === d ? 1 : row[j]!;
        gradient[j]! += residual * xj;
        const hj = hessian[j]!;
        for (let k = 0; k <= j; k++) hj[k]! += curvature * xj * (k === d ? 1 : row[k]!);
      }
    }
    for (let j = 0; j < d; j++) {
      gradient[j]! += beta[j]! / c;
      hessian[j]![j]! += 1 / c;
    }
    for (let j = 0; j < p; j++) for (let k = j + 1; k < p; k++) hessian[j]![k] = hessian[k]![j]!;
    const step = solveSymmetric(hessian, gradient);
    let largest = 0;
    for (let j = 0; j < p; j++) {
      beta[j]! -= step[j]!;
      largest = Math.max(largest, Math.abs(step[j]!));
    }
    if (largest < 1e-10) break;
  }
  return { weights: beta.slice(0, d), intercept: beta[d]! };
}

export function logisticMargin(model: LogisticModel, row: readonly number[]): number {
  let z = model.intercept;
  for (let j = 0; j < model.weights.length; j++) z += model.weights[j]! * row[j]!;
  return z;
}

/** Gaussian elimination with partial pivoting; a tiny ridge keeps a singular system (constant column) solvable. */
function solveSymmetric(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row.map((v, j) => (i === j ? v + 1e-9 : v)), vector[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const head = a[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const factor = row[col]! / head[col]!;
      if (factor === 0) continue;
      for (let k = col; k <= n; k++) row[k]! -= factor * head[k]!;
    }
  }
  const solution = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = a[r]![n]!;
    for (let k = r + 1; k < n; k++) sum -= a[r]![k]! * solution[k]!;
    solution[r] = sum / a[r]![r]!;
  }
  return solution;
}

/** Column means and population standard deviations (sklearn's `preprocessing.scale` uses ddof = 0). */
export function columnStats(x: readonly (readonly number[])[]): { mean: number[]; std: number[] } {
  const d = x[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]! / x.length;
  for (const row of x) for (let j = 0; j < d; j++) std[j]! += (row[j]! - mean[j]!) ** 2 / x.length;
  return { mean, std: std.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

export const standardize = (row: readonly number[], stats: { mean: number[]; std: number[] }): number[] =>
  row.map((v, j) => (v - stats.mean[j]!) / stats.std[j]!);
