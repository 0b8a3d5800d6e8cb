/**
 * The sum of a metric's samples in Prometheus' text exposition format, over the samples whose labels include
 * `labels`; 0 when there are none.
 */
export function sumOf(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    const present = parseLabels(match[3] ?? '');
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) {
      const value = Number(match[4]);
      if (Number.isFinite(value)) sum += value;
    }
  }
  return sum;
}

function parseLabels(text: string): Map<string, string> {
  const labels = new Map<string, string>();
  for (const match of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels.set(match[1]!, match[2]!.replace(/\\(.)/g, '$1'));
  return labels;
}
