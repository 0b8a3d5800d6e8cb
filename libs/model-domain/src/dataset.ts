import { CHANGE_METRICS, METRIC_ALIASES, type ChangeMetricName, type ChangeMetrics, type LabelledChange } from './features';

/** Splits one CSV line (RFC 4180 quotes). */
export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/**
 * Reads the shared JIT files: the Zeng et al. format (`date` epoch seconds, `bug`, absolute metrics) and the Kamei et
 * al. format (`commitdate` "YYYY/M/D H:MM", `nm`/`pd`/`npt`, and la/ld/lt/npt normalised: turned back into absolute
 * values as the WeiFoo R code does). The `__` column (a copy of the label) is never read. Rows come back in time order.
 */
export function parseJitCsv(text: string): LabelledChange[] {
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const column = (name: string): number => header.indexOf(name);
  const kamei = column('commitdate') >= 0;
  const rows: LabelledChange[] = [];
  for (let n = 1; n < lines.length; n++) {
    const cells = splitCsvLine(lines[n]!);
    const value = (name: string): number => Number(cells[column(name)]);
    const metrics = {} as ChangeMetrics;
    for (const [index, name] of header.entries()) {
      const metric = (CHANGE_METRICS as readonly string[]).includes(name) ? (name as ChangeMetricName) : METRIC_ALIASES[name];
      if (metric) metrics[metric] = Number(cells[index]);
    }
    if (kamei) {
      const lt = value('lt') * value('nf');
      metrics.lt = lt;
      metrics.la = value('la') * lt;
      metrics.ld = value('ld') * lt;
      metrics.nuc = value('npt') * value('nf');
    }
    const time = kamei ? parseKameiDate(cells[column('commitdate')]!) : value('date');
    const id = kamei ? cells[column('transactionid')] : cells[column('_id')];
    rows.push({ time, metrics, label: value('bug') > 0 ? 1 : 0, ...(id ? { id } : {}) });
  }
  // The Zeng files are in date order already: their protocol keeps the file order. The Kamei ones are ordered by id.
  if (!kamei) return rows;
  return rows.map((row, index) => ({ row, index })).sort((a, b) => a.row.time - b.row.time || a.index - b.index).map((r) => r.row);
}

function parseKameiDate(text: string): number {
  const match = /^(\d{4})\/(\d{1,2})\/(\d{1,2})\s+(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return Number.NaN;
  const [, y, m, d, hh, mm] = match.map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, m - 1, d, hh, mm) / 1000;
}

/** The README's `baseline_predictions/<project>_wp_test_predictions.csv`: labels and each published model's scores. */
export function parseBaselinePredictions(text: string): { labels: number[]; scores: Record<string, number[]> } {
  const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
  const header = splitCsvLine(lines[0] ?? '');
  const labelColumn = header.indexOf('bug');
  const scoreColumns = header.map((name, index) => ({ name, index })).filter((c) => !['commit_id', 'date', 'bug'].includes(c.name));
  const scores: Record<string, number[]> = Object.fromEntries(scoreColumns.map((c) => [c.name, [] as number[]]));
  const labels: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = splitCsvLine(line);
    labels.push(Number(cells[labelColumn]));
    for (const c of scoreColumns) scores[c.name]!.push(Number(cells[c.index]));
  }
  return { labels, scores };
}
