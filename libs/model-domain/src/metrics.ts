/** ROC AUC by the rank-sum (Mann-Whitney) statistic; tied scores share their average rank. */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const averageRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Mean squared error of probabilities: 0 is perfect, 0.25 is a coin. */
export function brierScore(labels: readonly number[], probabilities: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (probabilities[i]! - labels[i]!) ** 2;
  return sum / labels.length;
}

/** F1 of the positive class at a probability threshold (0.5 as in the data's README). */
export function f1Score(labels: readonly number[], probabilities: readonly number[], threshold = 0.5): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = probabilities[i]! >= threshold;
    if (predicted && labels[i] === 1) tp++;
    else if (predicted) fp++;
    else if (labels[i] === 1) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

/**
 * Recall at 20 % effort: inspect changes in descending score order while the inspected churn stays within
 * `effortShare` of the total churn; the share of all defect-inducing changes found that way.
 */
export function recallAtEffort(labels: readonly number[], scores: readonly number[], effort: readonly number[], effortShare = 0.2): number {
  const totalEffort = effort.reduce((a, b) => a + b, 0);
  const totalPositives = labels.reduce((a, b) => a + b, 0);
  if (totalPositives === 0) return Number.NaN;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  let spent = 0;
  let found = 0;
  for (const i of order) {
    if (spent + effort[i]! > effortShare * totalEffort) break;
    spent += effort[i]!;
    found += labels[i]!;
  }
  return found / totalPositives;
}
