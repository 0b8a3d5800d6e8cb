import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import { type AgfClient } from '@agf/client';
import { brierScore, evaluateAuthorsLogistic, evaluateOnline, evaluateTimeWise, parseBaselinePredictions, parseJitCsv, rocAuc, timeWiseSplit } from '@agf/model-domain';
import { type Command, Option } from 'commander';
import { CliExit, EXIT } from '../exit-codes';

export interface ModelCommandContext {
  client(): AgfClient;
  print(human: string, data: unknown): void;
  globals(): { url?: string; token?: string; json?: boolean };
}

interface EvaluateOptions {
  data: string;
  project?: string;
  mode: 'time-wise' | 'online' | 'both';
  retrains: string;
  lrJit: boolean;
}

/** `agf model evaluate` (the learned risk model measured offline on a JIT data file) and `agf history import`. */
export function registerModelCommands(program: Command, context: ModelCommandContext): void {
  registerHistoryCommands(program, context);
  const model = program.command('model').description('the learned defect-risk model');
  model
    .command('evaluate')
    .description('train and test the risk model on a JIT data file (time-wise 80/20 and online), print JSON')
    .requiredOption('--data <file>', 'CSV in the Zeng et al. or Kamei et al. format (see docs/model.md)')
    .option('--project <name>', 'project name (default: the file name)')
    .addOption(new Option('--mode <mode>', 'which evaluation').choices(['time-wise', 'online', 'both']).default('both'))
    .option('--retrains <n>', 'online: how many scheduled retrains over the last 80 % of the rows', '8')
    .option('--lr-jit', "also run the authors' LR-JIT (raw metrics, separate scaling) to check the protocol", false)
    .action((options: EvaluateOptions) => {
      if (!existsSync(options.data)) throw new CliExit(EXIT.usage, `--data ${options.data}: no such file`);
      const rows = parseJitCsv(readFileSync(options.data, 'utf8'));
      if (rows.length < 100) throw new CliExit(EXIT.usage, `--data ${options.data}: ${rows.length} rows; at least 100 are needed`);
      const project = options.project ?? basename(options.data).replace(/\.(csv|jsonl)$/i, '');
      const retrains = Number(options.retrains);
      if (!Number.isInteger(retrains) || retrains < 1) throw new CliExit(EXIT.usage, '--retrains: a positive integer');
      const result: Record<string, unknown> = { project };
      if (options.mode !== 'online') result['timeWise'] = evaluateTimeWise(project, rows);
      if (options.mode !== 'time-wise') result['online'] = evaluateOnline(project, rows, { retrainEvery: Math.ceil((rows.length - Math.floor(0.2 * rows.length)) / retrains) });
      if (options.lrJit) result['lrJitReproduction'] = evaluateAuthorsLogistic(project, rows);
      const baseline = publishedBaseline(options.data, project, timeWiseSplit(rows).test.length);
      if (baseline) result['publishedLrJit'] = baseline;
      context.print(JSON.stringify(result, null, 2), result);
    });
}

/** `agf history import`: streams a file of past changes to the learning service, showing progress on stderr. */
function registerHistoryCommands(program: Command, context: ModelCommandContext): void {
  program
    .command('history')
    .description('change history the defect model learns from')
    .command('import <file>')
    .description('import past changes (CSV with a header, or JSON Lines) of a project (admin)')
    .requiredOption('--project <id>', 'the project the changes belong to')
    .option('--learning-url <url>', 'learning service (default: the --url host, port 3004)')
    .option('--format <format>', 'csv or jsonl (default: from the file name)')
    .action(async (file: string, options: { project: string; learningUrl?: string; format?: string }) => {
      if (!existsSync(file)) throw new CliExit(EXIT.usage, `${file}: no such file`);
      const format = options.format ?? (/\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'csv');
      if (format !== 'csv' && format !== 'jsonl') throw new CliExit(EXIT.usage, '--format: csv or jsonl');
      const { url, token } = context.globals();
      const base = options.learningUrl ?? learningUrlFrom(url ?? 'http://127.0.0.1:3000');
      const size = statSync(file).size;
      let sent = 0;
      let shown = -1;
      const stream = createReadStream(file);
      stream.on('data', (chunk) => {
        sent += chunk.length;
        const percent = Math.floor((100 * sent) / Math.max(1, size));
        if (percent !== shown && !context.globals().json) {
          shown = percent;
          process.stderr.write(`\ruploading ${file}: ${percent} % (${(sent / 1e6).toFixed(1)} of ${(size / 1e6).toFixed(1)} MB)`);
        }
      });
      let response: Response;
      try {
        response = await fetch(`${base}/v1/history/import?projectId=${encodeURIComponent(options.project)}`, {
          method: 'POST',
          headers: { 'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: Readable.toWeb(stream) as ReadableStream,
          duplex: 'half',
        } as RequestInit);
      } catch (error) {
        throw new CliExit(EXIT.unreachable, `${base}: ${(error as Error).message}`);
      }
      if (!context.globals().json) process.stderr.write('\n');
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (!response.ok) {
        const errors = (body['errors'] as Array<{ path: string; message: string }> | undefined) ?? [];
        if (context.globals().json) context.print('', body);
        throw new CliExit(response.status >= 500 ? EXIT.unreachable : EXIT.usage, [`import refused (${response.status}): ${String(body['detail'] ?? body['title'] ?? '')}`, ...errors.map((e) => `  ${e.path}: ${e.message}`)].join('\n'));
      }
      context.print(`${String(body['rows'])} rows read, ${String(body['imported'])} imported, ${String(body['duplicates'])} already there (${options.project})`, body);
    });
}

function learningUrlFrom(url: string): string {
  const parsed = new URL(url);
  parsed.port = '3004';
  return parsed.origin;
}

/** The README's per-commit LR-JIT predictions for the same test rows, when they sit next to the data file. */
function publishedBaseline(dataFile: string, project: string, testRows: number): { file: string; auc: number; brier: number } | undefined {
  const file = join(dirname(dataFile), 'baseline_predictions', `${project}_wp_test_predictions.csv`);
  if (!existsSync(file)) return undefined;
  const { labels, scores } = parseBaselinePredictions(readFileSync(file, 'utf8'));
  const lrJit = scores['lr_jit'];
  if (!lrJit || labels.length !== testRows) return undefined;
  return { file, auc: rocAuc(labels, lrJit), brier: brierScore(labels, lrJit) };
}
