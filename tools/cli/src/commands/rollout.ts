import { AgfError } from '@agf/client';
import { type RolloutPhase, type RolloutView, SignalInput } from '@agf/contracts';
import { type Command, Option } from 'commander';
import { CliExit, EXIT } from '../exit-codes';

export interface RolloutCommandContext {
  /** `--url` / `AGF_URL` (intake): the rollout service is found on the same host, port 3009, unless `--rollout-url` says otherwise. */
  url(): string | undefined;
  token(): string | undefined;
  print(human: string, data: unknown): void;
}

/** `agf rollout …`: report a rollout's progress and health signals to AGF's rollout guard, and read its verdict. */
export function registerRolloutCommands(program: Command, ctx: RolloutCommandContext): void {
  const rollout = program
    .command('rollout')
    .description("report a rollout to AGF's guard (docs/rollout.md); `status` exits 0 healthy, 1 rollback requested, 2 paused or inconclusive")
    .addOption(new Option('--rollout-url <url>', 'rollout service URL (default: the --url host on port 3009)').env('AGF_ROLLOUT_URL'));
  const base = (): string => rolloutUrl(rollout.opts<{ rolloutUrl?: string }>().rolloutUrl, ctx.url());

  const phase = (name: string, value: RolloutPhase, description: string): void => {
    rollout
      .command(`${name} <id>`)
      .description(description)
      .option('--percent <n>', 'share of traffic or replicas on the new version (0-100)')
      .action(async (id: string, options: { percent?: string }) => {
        const percent = options.percent === undefined ? undefined : Number(options.percent);
        if (percent !== undefined && !(percent >= 0 && percent <= 100)) throw new CliExit(EXIT.usage, '--percent: expected 0-100');
        const view = await call<RolloutView>(base(), ctx.token(), 'POST', `/v1/deployment-requests/${encodeURIComponent(id)}/rollout`, { phase: value, ...(percent === undefined ? {} : { percent }) });
        ctx.print(describe(view), view);
      });
  };
  phase('start', 'started', 'the rollout started (refused unless the request was approved)');
  phase('progress', 'progressing', 'the rollout progressed (also resumes a paused one)');
  phase('complete', 'completed', 'the rollout completed');
  phase('abort', 'aborted', 'the rollout was aborted (confirms a requested rollback)');
  phase('rolled-back', 'rolled-back', 'the rollout was rolled back (confirms a requested rollback)');

  rollout
    .command('signal <id> <name> <value>')
    .description('push a health reading: error_rate (0..1), latency_p99_ms, saturation (0..1), or a custom name')
    .option('--unit <unit>', 'the unit of the value (e.g. %, ms, ratio)')
    .option('--at <time>', 'when it was measured (ISO 8601; default now)')
    .action(async (id: string, name: string, value: string, options: { unit?: string; at?: string }) => {
      const parsed = SignalInput.safeParse({ name, value: Number(value), ...(options.unit ? { unit: options.unit } : {}), ...(options.at ? { at: options.at } : {}) });
      if (!parsed.success || value.trim() === '') throw new CliExit(EXIT.usage, `the signal is not valid: ${parsed.success ? 'value: expected a number' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      const answer = await call<{ verdict: string | null; status: string }>(base(), ctx.token(), 'POST', `/v1/deployment-requests/${encodeURIComponent(id)}/signals`, parsed.data);
      ctx.print(`${name}=${value} accepted; rollout ${answer.status}${answer.verdict ? `, verdict ${answer.verdict}` : ''}`, answer);
      if (answer.status === 'rollback-requested') process.exitCode = EXIT.blocked;
    });

  rollout
    .command('status <id>')
    .description("the rollout's status, verdict, criteria and rollback")
    .action(async (id: string) => {
      const view = await call<RolloutView>(base(), ctx.token(), 'GET', `/v1/deployment-requests/${encodeURIComponent(id)}/rollout`);
      ctx.print(describe(view), view);
      process.exitCode = exitCodeOf(view);
    });
}

/** 0 healthy (or completed), 1 a rollback is requested or done, 2 paused, inconclusive or not evaluated yet. */
export function exitCodeOf(view: Pick<RolloutView, 'status' | 'verdict'>): number {
  if (view.status === 'rollback-requested' || view.status === 'rolled-back' || view.status === 'aborted' || view.verdict === 'failing') return EXIT.blocked;
  if (view.status === 'completed' || view.verdict === 'healthy') return EXIT.proceed;
  return EXIT.undecided;
}

function describe(view: RolloutView): string {
  return [
    `${view.requestId}: rollout ${view.status}${view.percent !== null ? ` at ${view.percent} %` : ''}${view.emergency ? ' (emergency)' : ''}, verdict ${view.verdict ?? 'none yet'}${view.liveScore !== null ? `, live risk ${view.liveScore.toFixed(2)} (revision ${view.revision})` : ''}`,
    ...view.criteria.map((c) => `  ${c.status.padEnd(7)} ${c.metric} ${c.comparison} ${c.threshold}${unitText(c.unit)}${c.observed !== null ? `: ${c.observed}${unitText(c.unit)} (${c.signal})` : ''}`),
    ...(view.rollback ? [`rollback requested ${view.rollback.requestedAt} (${view.rollback.reason}), due ${view.rollback.dueAt}${view.rollback.completedAt ? `, confirmed ${view.rollback.completedAt}` : ''}`] : []),
  ].join('\n');
}

const unitText = (unit: string): string => (unit === '%' ? '%' : unit ? ` ${unit}` : '');

export function rolloutUrl(explicit: string | undefined, intakeUrl: string | undefined): string {
  if (explicit) return explicit.replace(/\/+$/, '');
  try {
    const url = new URL(intakeUrl ?? 'http://127.0.0.1:3000');
    url.port = '3009';
    return url.origin;
  } catch {
    throw new CliExit(EXIT.usage, `--url: not a URL: ${intakeUrl}`);
  }
}

async function call<T>(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new AgfError('unreachable', `AGF's rollout service unreachable at ${base}: ${cause?.code ?? (error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let problem: { title?: string; detail?: string; errors?: Array<{ path: string; message: string }> } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      problem = { detail: text.slice(0, 300) };
    }
    const detail = [problem.title, problem.detail, ...(problem.errors ?? []).map((e) => `${e.path}: ${e.message}`)].filter(Boolean).join('; ');
    const status = response.status;
    throw new AgfError(status === 401 || status === 403 ? 'auth' : status === 404 ? 'not-found' : status >= 500 || status === 429 ? 'server' : 'usage', `${status} ${detail}`, status, problem);
  }
  return JSON.parse(text) as T;
}
