import { createHash } from 'node:crypto';
import { splitCsvLine } from './dataset';
import { CHANGE_METRICS, METRIC_ALIASES, type ChangeMetricName, type ChangeMetrics } from './features';

/** A past change's outcome: the first counts as clean, the others as defect-inducing (label 1). */
export const HISTORY_OUTCOMES = ['clean', 'defect-inducing', 'rolled-back', 'incident'] as const;
export type HistoryOutcome = (typeof HISTORY_OUTCOMES)[number];

export interface HistoryRow {
  /** The change's id, or a hash of its content: importing the same row twice stores it once. */
  readonly key: string;
  readonly time: Date;
  readonly metrics: ChangeMetrics;
  readonly outcome: HistoryOutcome;
  readonly label: 0 | 1;
}

export type ParsedLine = { kind: 'header' } | { kind: 'blank' } | { kind: 'row'; row: HistoryRow } | { kind: 'error'; line: number; message: string };

const OUTCOME_SPELLINGS: Readonly<Record<string, HistoryOutcome>> = {
  clean: 'clean',
  '0': 'clean',
  false: 'clean',
  succeeded: 'clean',
  'defect-inducing': 'defect-inducing',
  defect: 'defect-inducing',
  bug: 'defect-inducing',
  '1': 'defect-inducing',
  true: 'defect-inducing',
  'rolled-back': 'rolled-back',
  rolled_back: 'rolled-back',
  rollback: 'rolled-back',
  incident: 'incident',
  failed: 'incident',
};
const TIME_COLUMNS = ['time', 'date', 'timestamp', 'commitdate', 'author_date'];
const LABEL_COLUMNS = ['outcome', 'label', 'bug', 'buggy'];
const ID_COLUMNS = ['id', '_id', 'commit_id', 'change_id', 'transactionid'];
/** Never read: a copy of the label in the Zeng et al. files. */
const IGNORED_COLUMNS = new Set(['__', '']);
export const MAX_ID_LENGTH = 200;

/** Epoch seconds (or milliseconds, above 10^11), ISO-8601, or the Kamei files' `YYYY/M/D H:MM` (read as UTC). */
export function parseChangeTime(value: unknown): Date | undefined {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()))) {
    const n = Number(value);
    const date = new Date(n > 1e11 ? n : n * 1000);
    return Number.isFinite(n) && !Number.isNaN(date.getTime()) ? date : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const kamei = /^(\d{4})\/(\d{1,2})\/(\d{1,2})\s+(\d{1,2}):(\d{2})$/.exec(value.trim());
  if (kamei) return new Date(Date.UTC(Number(kamei[1]), Number(kamei[2]) - 1, Number(kamei[3]), Number(kamei[4]), Number(kamei[5])));
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Reads one record (already split into named fields) into a history row, or says what is wrong with it.
 * `normalisedKamei`: la/ld are shares of lt, lt is per file and `npt` is nuc per file (the Kamei files).
 */
export function readHistoryRecord(fields: Readonly<Record<string, unknown>>, normalisedKamei = false): HistoryRow | string {
  const lower = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.trim().toLowerCase(), v]));
  const timeColumn = TIME_COLUMNS.find((c) => lower[c] !== undefined && lower[c] !== '');
  if (!timeColumn) return `no time (one of ${TIME_COLUMNS.join(', ')})`;
  const time = parseChangeTime(lower[timeColumn]);
  if (!time) return `${timeColumn}: ${JSON.stringify(lower[timeColumn])} is not a time (epoch seconds or ISO-8601)`;
  const labelColumn = LABEL_COLUMNS.find((c) => lower[c] !== undefined && lower[c] !== '');
  if (!labelColumn) return `no outcome (one of ${LABEL_COLUMNS.join(', ')}: ${HISTORY_OUTCOMES.join(', ')} or 0/1)`;
  const outcome = OUTCOME_SPELLINGS[String(lower[labelColumn]).trim().toLowerCase()];
  if (!outcome) return `${labelColumn}: ${JSON.stringify(lower[labelColumn])} is not an outcome (${HISTORY_OUTCOMES.join(', ')} or 0/1)`;
  const metrics = {} as ChangeMetrics;
  for (const [name, raw] of Object.entries(lower)) {
    if (IGNORED_COLUMNS.has(name)) continue;
    const metric = (CHANGE_METRICS as readonly string[]).includes(name) ? (name as ChangeMetricName) : METRIC_ALIASES[name];
    if (!metric) continue;
    const value = typeof raw === 'boolean' ? Number(raw) : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return `${name}: ${JSON.stringify(raw)} is not a number >= 0`;
    metrics[metric] = value;
  }
  if (normalisedKamei) {
    const nuc = Number(lower['npt']);
    if (!Number.isFinite(nuc) || nuc < 0) return `npt: ${JSON.stringify(lower['npt'])} is not a number >= 0`;
    metrics.lt = metrics.lt * metrics.nf;
    metrics.la = metrics.la * metrics.lt;
    metrics.ld = metrics.ld * metrics.lt;
    metrics.nuc = nuc * metrics.nf;
  }
  const missing = CHANGE_METRICS.filter((m) => metrics[m] === undefined);
  if (missing.length) return `missing metric(s): ${missing.join(', ')}`;
  const idColumn = ID_COLUMNS.find((c) => lower[c] !== undefined && lower[c] !== '');
  const id = idColumn ? String(lower[idColumn]) : undefined;
  if (id && id.length > MAX_ID_LENGTH) return `${idColumn}: longer than ${MAX_ID_LENGTH} characters`;
  const key = id ? `id:${id}` : `sha256:${createHash('sha256').update(JSON.stringify([time.toISOString(), CHANGE_METRICS.map((m) => metrics[m]), outcome])).digest('hex')}`;
  return { key, time, metrics, outcome, label: outcome === 'clean' ? 0 : 1 };
}

/**
 * Reads an import file line by line (CSV with a header line, or JSON Lines), so files of any size stream
 * through with constant memory. Line numbers count from 1 and include the header.
 */
export class HistoryLineReader {
  private header: string[] | undefined;
  private kamei = false;
  private lineNumber = 0;

  constructor(private readonly format: 'csv' | 'jsonl') {}

  read(text: string): ParsedLine {
    const line = ++this.lineNumber;
    const trimmed = text.replace(/\r$/, '');
    if (trimmed.trim() === '') return { kind: 'blank' };
    if (this.format === 'jsonl') {
      let record: unknown;
      try {
        record = JSON.parse(trimmed);
      } catch {
        return { kind: 'error', line, message: 'not valid JSON' };
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) return { kind: 'error', line, message: 'not a JSON object' };
      const result = readHistoryRecord(record as Record<string, unknown>);
      return typeof result === 'string' ? { kind: 'error', line, message: result } : { kind: 'row', row: result };
    }
    if (!this.header) {
      this.header = splitCsvLine(trimmed).map((h) => h.trim().toLowerCase());
      this.kamei = this.header.includes('npt') && this.header.includes('commitdate');
      return { kind: 'header' };
    }
    const cells = splitCsvLine(trimmed);
    if (cells.length !== this.header.length) return { kind: 'error', line, message: `${cells.length} fields, the header has ${this.header.length}` };
    const result = readHistoryRecord(Object.fromEntries(this.header.map((h, i) => [h, cells[i]])), this.kamei);
    return typeof result === 'string' ? { kind: 'error', line, message: result } : { kind: 'row', row: result };
  }
}
