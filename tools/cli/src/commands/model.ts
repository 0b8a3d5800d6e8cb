import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type AgfClient } from '@agf/client';
import { brierScore, evaluateAuthorsLogistic, evaluateOnline, evaluateTimeWise, parseBaselinePredictions, parseJitCsv, rocAuc, timeWiseSplit } from '@agf/model-domain';
import { type Command, Option } from 'commander';
import { CliExit, EXIT } from '../exit-codes';

export interface ModelCommandContext {
  client(): AgfClient;
  print(human: string, data: unknown): void;
}

interface EvaluateOptions {
  data: string;
  project?: string;
  mode: 'time-wise' | 'online' | 'both';
  retrains: string;
  lrJit: boolean;
}

/** `agf model evaluate`: the learned risk model measured on a change-level defect data file, offline. */
export function registerModelCommands(program: Command, context: ModelCommandContext): void {
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

/** The README's per-commit LR-JIT predictions for the same test rows, when they sit next to the data file. */
function publishedBaseline(dataFile: string, project: string, testRows: number): { file: string; auc: number; brier: number } | undefined {
  const file = join(dirname(dataFile), 'baseline_predictions', `${project}_wp_test_predictions.csv`);
  if (!existsSync(file)) return undefined;
  const { labels, scores } = parseBaselinePredictions(readFileSync(file, 'utf8'));
  const lrJit = scores['lr_jit'];
  if (!lrJit || labels.length !== testRows) return undefined;
  return { file, auc: rocAuc(labels, lrJit), brier: brierScore(labels, lrJit) };
}
