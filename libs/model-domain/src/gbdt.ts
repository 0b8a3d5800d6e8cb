/**
 * Gradient-boosted decision trees for binary log-loss, histogram-based (as LightGBM/XGBoost "hist"): features are
 * cut into at most `maxBins` quantile bins once, trees grow depth-wise with second-order gains and L2 leaf shrinkage.
 * No npm package fits (pure JS, maintained, binary GBDT with sample weights), and the algorithm is short.
 */
export interface GbdtOptions {
  readonly trees: number;
  readonly learningRate: number;
  readonly maxDepth: number;
  /** Smallest hessian sum a child may have (XGBoost's min_child_weight). */
  readonly minChildWeight: number;
  readonly lambda: number;
  /** Share of rows each tree sees (stochastic gradient boosting). */
  readonly subsample: number;
  readonly maxBins?: number;
  readonly seed?: number;
  readonly sampleWeights?: readonly number[];
}

/** Flat tree: node i is a leaf when feature[i] < 0. `value` holds every node's (shrunk) output; leaves use theirs. */
export interface Tree {
  readonly feature: number[];
  readonly threshold: number[];
  readonly left: number[];
  readonly right: number[];
  readonly value: number[];
}

export interface GbdtModel {
  readonly baseMargin: number;
  readonly trees: Tree[];
}

/** Seeded PRNG (mulberry32), so training is reproducible. */
export function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function quantileCuts(values: readonly number[], maxBins: number): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let q = 1; q < maxBins; q++) {
    const cut = sorted[Math.floor((q * sorted.length) / maxBins)]!;
    if (cuts.length === 0 || cut > cuts[cuts.length - 1]!) cuts.push(cut);
  }
  if (cuts.length > 0 && cuts[cuts.length - 1] === sorted[sorted.length - 1]) cuts.pop();
  return cuts;
}

/** Index of the first cut >= value (the bin whose rows satisfy value <= cut), or cuts.length. */
function binOf(cuts: readonly number[], value: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Trains up to `options.trees` trees. `onTree` sees each new tree and may return false to stop (early stopping on validation).
 */
export function fitGbdt(x: readonly (readonly number[])[], y: readonly number[], options: GbdtOptions, onTree?: (tree: Tree, treeCount: number) => boolean | void): GbdtModel {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  const maxBins = Math.min(255, options.maxBins ?? 64);
  const cuts = Array.from({ length: d }, (_, j) => quantileCuts(x.map((row) => row[j]!), maxBins));
  const bins = Array.from({ length: d }, (_, j) => {
    const column = new Uint8Array(n);
    for (let i = 0; i < n; i++) column[i] = binOf(cuts[j]!, x[i]![j]!);
    return column;
  });
  // Row-major copy for building histograms: one row's bins sit together in memory.
  const rowBins = new Uint8Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) rowBins[i * d + j] = bins[j]![i]!;
  const weights = Float64Array.from({ length: n }, (_, i) => options.sampleWeights?.[i] ?? 1);
  let positive = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    positive += weights[i]! * y[i]!;
    total += weights[i]!;
  }
  const prior = Math.min(Math.max(positive / total, 1e-6), 1 - 1e-6);
  const baseMargin = Math.log(prior / (1 - prior));
  const margins = new Float64Array(n).fill(baseMargin);
  const gradients = new Float64Array(n);
  const hessians = new Float64Array(n);
  const random = randomGenerator(options.seed ?? 1);
  const trees: Tree[] = [];

  for (let t = 0; t < options.trees; t++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-margins[i]!));
      gradients[i] = weights[i]! * (p - y[i]!);
      hessians[i] = weights[i]! * Math.max(p * (1 - p), 1e-16);
    }
    const sample: number[] = [];
    for (let i = 0; i < n; i++) if (options.subsample >= 1 || random() < options.subsample) sample.push(i);
    const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
    const stride = (maxBins + 1) * 2;
    const buildHistogram = (rows: Int32Array): Float64Array => {
      const histogram = new Float64Array(d * stride);
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k]!;
        const g = gradients[i]!;
        const h = hessians[i]!;
        const offset = i * d;
        for (let j = 0; j < d; j++) {
          const at = j * stride + rowBins[offset + j]! * 2;
          histogram[at]! += g;
          histogram[at + 1]! += h;
        }
      }
      return histogram;
    };
    /** `histogram`: this node's, when its parent already derived it (the larger child = parent − smaller child). */
    const grow = (rows: Int32Array, depth: number, given?: Float64Array): number => {
      let g = 0;
      let h = 0;
      for (let k = 0; k < rows.length; k++) {
        g += gradients[rows[k]!]!;
        h += hessians[rows[k]!]!;
      }
      const node = tree.feature.length;
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.left.push(-1);
      tree.right.push(-1);
      tree.value.push((-g / (h + options.lambda)) * options.learningRate);
      if (depth >= options.maxDepth || h < 2 * options.minChildWeight) return node;
      const histogram = given ?? buildHistogram(rows);
      const parentScore = (g * g) / (h + options.lambda);
      let bestGain = 1e-12;
      let bestFeature = -1;
      let bestBin = -1;
      for (let j = 0; j < d; j++) {
        const base = j * stride;
        let gl = 0;
        let hl = 0;
        for (let b = 0; b < cuts[j]!.length; b++) {
          gl += histogram[base + b * 2]!;
          hl += histogram[base + b * 2 + 1]!;
          const hr = h - hl;
          if (hl < options.minChildWeight) continue;
          if (hr < options.minChildWeight) break;
          const gr = g - gl;
          const gain = (gl * gl) / (hl + options.lambda) + (gr * gr) / (hr + options.lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestFeature = j;
            bestBin = b;
          }
        }
      }
      if (bestFeature < 0) return node;
      const column = bins[bestFeature]!;
      let leftCount = 0;
      for (const i of rows) if (column[i]! <= bestBin) leftCount++;
      const leftRows = new Int32Array(leftCount);
      const rightRows = new Int32Array(rows.length - leftCount);
      let l = 0;
      let r = 0;
      for (const i of rows) {
        if (column[i]! <= bestBin) leftRows[l++] = i;
        else rightRows[r++] = i;
      }
      let leftHistogram: Float64Array | undefined;
      let rightHistogram: Float64Array | undefined;
      if (depth + 1 < options.maxDepth) {
        const leftIsSmaller = leftRows.length <= rightRows.length;
        const small = buildHistogram(leftIsSmaller ? leftRows : rightRows);
        const large = new Float64Array(histogram.length);
        for (let k = 0; k < large.length; k++) large[k] = histogram[k]! - small[k]!;
        [leftHistogram, rightHistogram] = leftIsSmaller ? [small, large] : [large, small];
      }
      tree.feature[node] = bestFeature;
      tree.threshold[node] = cuts[bestFeature]![bestBin]!;
      tree.left[node] = grow(leftRows, depth + 1, leftHistogram);
      tree.right[node] = grow(rightRows, depth + 1, rightHistogram);
      return node;
    };
    grow(Int32Array.from(sample), 0);
    trees.push(tree);
    for (let i = 0; i < n; i++) margins[i]! += leafValue(tree, x[i]!);
    if (onTree?.(tree, trees.length) === false) break;
  }
  return { baseMargin, trees };
}

export function leafValue(tree: Tree, row: readonly number[]): number {
  let node = 0;
  while (tree.feature[node]! >= 0) node = row[tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
  return tree.value[node]!;
}

export function gbdtMargin(model: GbdtModel, row: readonly number[], treeCount = model.trees.length): number {
  let margin = model.baseMargin;
  for (let t = 0; t < treeCount; t++) margin += leafValue(model.trees[t]!, row);
  return margin;
}

/**
 * Per-feature contributions to the margin (Saabas): along each tree's path, the change of the node value is
 * credited to the feature split on. They sum to margin - baseMargin - sum of root values.
 */
export function gbdtContributions(model: GbdtModel, row: readonly number[]): number[] {
  const contributions = new Array<number>(row.length).fill(0);
  for (const tree of model.trees) {
    let node = 0;
    while (tree.feature[node]! >= 0) {
      const next = row[tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      contributions[tree.feature[node]!]! += tree.value[next]! - tree.value[node]!;
      node = next;
    }
  }
  return contributions;
}
