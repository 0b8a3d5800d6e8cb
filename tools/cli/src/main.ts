import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { verifyAttestation, type AttestationPublicKey } from '@agf/attestation-domain';
import { AgfClient, AgfError } from '@agf/client';
import { DeploymentRequestInput, type RiskIndicators } from '@agf/contracts';
import { loadPolicyFile, PolicyError } from '@agf/policy';
import { Command, CommanderError, Option } from 'commander';
import { registerComplianceCommands } from './commands/compliance';
import { registerModelCommands } from './commands/model';
import { CliExit, EXIT } from './exit-codes';
import { followToDecision, parseDuration } from './follow';
import { gitChange } from './git-metrics';
import { ANNOTATED_CONFIG } from './init-template';
import { registerRolloutCommands } from './commands/rollout';

const ROOT = resolve(__dirname, '..', '..', '..', '..');

interface Global {
  url?: string;
  token?: string;
  json?: boolean;
}

const program = new Command('agf')
  .description('AGF from a pipeline or a terminal: submit a change, wait for its decision, review, verify attestations')
  .addOption(new Option('--url <url>', 'intake URL').env('AGF_URL'))
  .addOption(new Option('--token <token>', 'API key (agf_…) or OIDC token').env('AGF_TOKEN'))
  .option('--json', 'machine-readable output', false)
  .showHelpAfterError()
  .exitOverride();

const globals = (): Global => program.opts<Global>();
const client = (): AgfClient => new AgfClient({ url: globals().url ?? 'http://127.0.0.1:3000', token: globals().token });
const print = (human: string, data: unknown): void => {
  process.stdout.write(globals().json ? `${JSON.stringify(data)}\n` : `${human}\n`);
};

program
  .command('init')
  .description('write an annotated agf-config.yaml')
  .option('-y, --yes', 'use the defaults without asking', false)
  .option('-o, --output <file>', 'where to write it', 'agf-config.yaml')
  .option('--force', 'overwrite an existing file', false)
  .action((options: { output: string; force: boolean }) => {
    if (existsSync(options.output) && !options.force) throw new CliExit(EXIT.usage, `${options.output} exists (use --force to overwrite)`);
    writeFileSync(options.output, ANNOTATED_CONFIG);
    print(`wrote ${options.output}; check it with: agf config validate ${options.output}`, { written: options.output });
  });

program
  .command('config')
  .description('configuration')
  .command('validate [file]')
  .description('validate agf-config.yaml; exits 3 naming each bad key')
  .action((file: string | undefined) => {
    const path = file ?? process.env['AGF_CONFIG'] ?? 'agf-config.yaml';
    try {
      loadPolicyFile(path);
    } catch (error) {
      if (error instanceof PolicyError) {
        if (globals().json) print('', { valid: false, file: path, errors: error.message.split('\n').slice(1).map((l) => l.trim()) });
        throw new CliExit(EXIT.usage, error.message);
      }
      throw error;
    }
    print(`${path} is valid`, { valid: true, file: path });
  });

program
  .command('submit')
  .description('submit the change in this git checkout for governance')
  .option('--project <id>', 'project id')
  .option('--component <name>', 'component (default: the repository directory name)')
  .option('--version <version>', 'version (default: git describe)')
  .option('--base <rev>', 'measure the change against this revision (default: merge base with the default branch)')
  .option('--from <file.json>', 'request fields to add or override (DeploymentRequestInput shape)')
  .option('--security-sensitive', 'the change is security-sensitive')
  .addOption(new Option('--user-impact <level>', 'user impact').choices(['low', 'medium', 'high', 'critical']))
  .option('--tests-passed', 'the pipeline tests passed')
  .option('--tests-failed', 'the pipeline tests failed')
  .option('--vulns <counts>', 'known vulnerabilities, e.g. critical=0,high=2')
  .option('--digest <sha256:…>', 'the artifact digest, named in the attestation')
  .option('--idempotency-key <key>', 'default: from the CI run (GITHUB_RUN_ID/ATTEMPT, CI_JOB_ID, BUILD_TAG)')
  .option('--dry-run', 'print the request, do not send it', false)
  .option('--wait', 'follow the request to its decision; the exit code tells it', false)
  .option('--timeout <duration>', 'how long --wait waits', '72h')
  .option('--decision-file <file>', 'where --wait writes the decision', 'agf-decision.json')
  .action(async (options: SubmitOptions) => {
    const input = buildRequest(options);
    if (options.dryRun) return print(JSON.stringify(input, null, 2), input);
    const idempotencyKey = options.idempotencyKey ?? ciIdempotencyKey(input);
    const accepted = await client().submit(input, { idempotencyKey });
    print(`submitted ${accepted.id} (${input.projectId}/${input.componentName} ${input.version}, ${input.changes.length} file(s))`, { ...accepted, idempotencyKey });
    if (!options.wait) return;
    process.exitCode = await followToDecision(client(), accepted.id, { timeoutMs: parseDuration(options.timeout), json: Boolean(globals().json), decisionFile: options.decisionFile });
  });

program
  .command('wait <id>')
  .description('follow a request to its decision; exit 0 proceed, 1 blocked, 2 undecided')
  .option('--timeout <duration>', 'how long to wait', '72h')
  .option('--decision-file <file>', 'where to write the decision', 'agf-decision.json')
  .action(async (id: string, options: { timeout: string; decisionFile: string }) => {
    await client().get(id); // fail fast (3 or 4) on a bad token, an unknown id or an unreachable AGF
    process.exitCode = await followToDecision(client(), id, { timeoutMs: parseDuration(options.timeout), json: Boolean(globals().json), decisionFile: options.decisionFile });
  });

program
  .command('status <id>')
  .description("a request's status, risk, assignments and decision")
  .action(async (id: string) => {
    const view = await client().get(id);
    const lines = [
      `${view.id}: ${view.status}`,
      ...(view.riskAssessment ? [`risk ${view.riskAssessment.overallScore.toFixed(2)}`] : []),
      ...(view.tierLevel !== null ? [`tier ${view.tierLevel}`] : []),
      ...view.assignments.map((a) => `  ${a.expertId} (${a.expertType}) ${a.status}, due ${a.slaDueAt}`),
      ...(view.decision ? [`decision ${view.decision.outcome}: ${view.decision.decisionRationale}`] : []),
    ];
    print(lines.join('\n'), view);
  });

program
  .command('reviews')
  .description('my review inbox')
  .action(async () => {
    const items = await client().inbox();
    if (items === undefined) throw new CliExit(EXIT.usage, 'this AGF has no review inbox (GET /v1/reviews?assignee=me answered 404)');
    print(items.length ? items.map((i) => JSON.stringify(i)).join('\n') : 'nothing waits for you', items);
  });

program
  .command('review <verdict> <id>')
  .description('answer an assignment: approve|reject|conditional')
  .requiredOption('--comment <text>', 'why')
  .option('--assignment <id>', 'the assignment (default: my only pending one on this request)')
  .option('--expert <id>', 'the expert I answer as (default: from the assignment)')
  .option('--condition <text...>', 'conditions of a conditional approval')
  .action(async (verdict: string, id: string, options: { comment: string; assignment?: string; expert?: string; condition?: string[] }) => {
    if (!['approve', 'reject', 'conditional'].includes(verdict)) throw new CliExit(EXIT.usage, `review: approve, reject or conditional, not ${verdict}`);
    let assignmentId = options.assignment;
    let expertId = options.expert;
    if (!assignmentId || !expertId) {
      const pending = (await client().get(id)).assignments.filter((a) => a.status === 'pending' && (!expertId || a.expertId === expertId) && (!assignmentId || a.id === assignmentId));
      if (pending.length !== 1) throw new CliExit(EXIT.usage, `review: ${pending.length} pending assignments match; name one with --assignment and --expert`);
      assignmentId = pending[0]!.id;
      expertId = pending[0]!.expertId;
    }
    const result = await client().review(id, { assignmentId, expertId, decision: verdict as 'approve', comments: options.comment, ...(options.condition ? { conditions: options.condition } : {}) });
    print(`answer submitted for ${expertId} on ${id}`, result);
  });

program
  .command('outcome <id> <result>')
  .description('report how the deployment went: success|rollback|incident')
  .option('--detail <text>', 'what happened')
  .action(async (id: string, result: string, options: { detail?: string }) => {
    const status = ({ success: 'succeeded', rollback: 'rolled_back', incident: 'failed' } as const)[result as 'success'];
    if (!status) throw new CliExit(EXIT.usage, `outcome: success, rollback or incident, not ${result}`);
    const answer = await client().outcome(id, { status, ...(options.detail ? { details: { detail: options.detail } } : {}) });
    print(`outcome ${status} recorded for ${id}`, answer);
  });

const keys = program.command('keys').description('API keys (admin)');
keys
  .command('create')
  .requiredOption('--name <name>')
  .requiredOption('--subject <subject>')
  .requiredOption('--roles <roles>', 'comma-separated: submitter,reviewer,auditor,admin,metrics,emergency')
  .option('--projects <ids>', 'comma-separated project ids, or *', '')
  .option('--expires-at <iso>')
  .action(async (o: { name: string; subject: string; roles: string; projects: string; expiresAt?: string }) => {
    const issued = await client().createApiKey({
      name: o.name,
      subject: o.subject,
      roles: o.roles.split(',').filter(Boolean) as never,
      projects: o.projects.split(',').filter(Boolean),
      ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}),
    });
    print(`${issued.key}\n(id ${issued.id}; shown once)`, issued);
  });
keys.command('list').action(async () => {
  const list = await client().listApiKeys();
  print(list.map((k) => `${k.id} ${k.name} ${k.subject} [${k.roles.join(',')}] ${k.revokedAt ? 'revoked' : 'active'}`).join('\n'), list);
});
keys.command('revoke <id>').action(async (id: string) => {
  await client().revokeApiKey(id);
  print(`revoked ${id}`, { revoked: id });
});

program
  .command('project-mode <projectId> [mode]')
  .description('show a project\'s gate mode, or set it (admin): enforce | shadow (AGF decides, every gate approves)')
  .option('--coe-url <url>', 'CoE service (default: intake host, port 3002)')
  .action(async (projectId: string, mode: string | undefined, o: { coeUrl?: string }) => {
    if (mode !== undefined && mode !== 'enforce' && mode !== 'shadow') throw new CliExit(EXIT.usage, `project-mode: enforce or shadow, not ${mode}`);
    const coe = new AgfClient({ url: globals().url ?? 'http://127.0.0.1:3000', token: globals().token, coeUrl: o.coeUrl });
    const view = mode ? await coe.setProjectMode(projectId, mode) : await coe.projectMode(projectId);
    print(`${view.projectId}: ${view.mode} (${view.source === 'api' ? `set by ${view.changedBy?.subject} at ${view.changedAt}` : 'from agf-config.yaml'})`, view);
  });

program
  .command('audit')
  .description('the compliance audit chain')
  .command('verify')
  .option('--compliance-url <url>', 'compliance service (default: intake host, port 3005)')
  .option('--database-url <url>', 'walk the chain straight from Postgres instead (read access only)')
  .action(async (o: { complianceUrl?: string; databaseUrl?: string }) => {
    if (o.databaseUrl) return runTool('audit-verify', ['--database-url', o.databaseUrl]);
    const result = await new AgfClient({ url: globals().url ?? 'http://127.0.0.1:3000', token: globals().token, complianceUrl: o.complianceUrl }).auditVerify();
    print(JSON.stringify(result, null, 2), result);
    if (!result.valid) process.exitCode = EXIT.blocked;
  });

program
  .command('dlq')
  .description('dead letters (NATS_URL, AGF_NAMESPACE): list [--limit N] | replay <seq…> | --all')
  .allowUnknownOption()
  .argument('[args...]')
  .action((args: string[]) => runTool('dlq', args));

program
  .command('nats-config')
  .description('write nats-server\'s authorization (a user per service, pipeline and expert, allow-lists from the code) and their seed files: --out DIR [--pipeline NAME]… [--expert ID]…')
  .allowUnknownOption()
  .argument('[args...]')
  .action((args: string[]) => runTool('bus', ['nats-config', ...args]));

program
  .command('provision')
  .description('create the streams and every durable consumer as the provisioner (NATS_URL, NATS_NKEY_SEED_FILE), so services need no JetStream admin rights')
  .allowUnknownOption()
  .argument('[args...]')
  .action((args: string[]) => runTool('bus', ['provision', ...args]));

program
  .command('verify')
  .description("check a decision attestation before deploying: signature, subject and outcome")
  .requiredOption('--attestation <file>', 'the DSSE envelope (GET …/attestation)')
  .requiredOption('--artifact <name@version>', 'the artifact about to be deployed')
  .option('--digest <sha256:…>', 'its digest, when the request named one')
  .option('--keys <file>', 'trusted keys (GET /v1/attestation-keys answer); default: fetched from AGF')
  .action(async (o: { attestation: string; artifact: string; digest?: string; keys?: string }) => {
    const envelope: unknown = readJson(o.attestation);
    const trusted = o.keys ? (readJson(o.keys) as { keys: AttestationPublicKey[] }).keys : (await client().attestationKeys()).keys;
    const result = verifyAttestation(envelope, trusted, { name: o.artifact, ...(o.digest ? { digest: o.digest } : {}) });
    if (result.valid) {
      print(`valid: ${o.artifact} ${result.statement.predicate.outcome} (request ${result.statement.predicate.requestId}, key ${result.keyid.slice(0, 16)}…)`, { valid: true, keyid: result.keyid, predicate: result.statement.predicate });
      return;
    }
    if (globals().json) print('', { valid: false, reason: result.reason });
    throw new CliExit(EXIT.blocked, `invalid attestation: ${result.reason}`);
  });

program
  .command('attestation <id>')
  .description("download a decided request's attestation")
  .option('-o, --output <file>', 'write it here instead of stdout')
  .action(async (id: string, o: { output?: string }) => {
    const envelope = await client().attestation(id);
    if (o.output) writeFileSync(o.output, `${JSON.stringify(envelope, null, 2)}\n`);
    print(o.output ? `attestation written to ${o.output}` : JSON.stringify(envelope, null, 2), envelope);
  });

registerComplianceCommands(program, globals);
registerModelCommands(program, { print, client, globals });

interface SubmitOptions {
  project?: string;
  component?: string;
  version?: string;
  base?: string;
  from?: string;
  securitySensitive?: boolean;
  userImpact?: RiskIndicators['userImpact'];
  testsPassed?: boolean;
  testsFailed?: boolean;
  vulns?: string;
  digest?: string;
  idempotencyKey?: string;
  dryRun: boolean;
  wait: boolean;
  timeout: string;
  decisionFile: string;
}

function buildRequest(o: SubmitOptions): DeploymentRequestInput {
  const from = o.from ? (readJson(o.from) as Partial<DeploymentRequestInput>) : {};
  let change: ReturnType<typeof gitChange> | undefined;
  try {
    change = gitChange(process.cwd(), o.base);
  } catch (error) {
    if (o.base) throw new CliExit(EXIT.usage, `--base ${o.base}: ${(error as Error).message.split('\n')[0]}`);
    // Not a git checkout (or no commit yet): the request is built from the flags and --from alone.
  }
  if (o.testsPassed && o.testsFailed) throw new CliExit(EXIT.usage, '--tests-passed and --tests-failed contradict each other');
  const indicators: RiskIndicators = {
    ...(change ? { codeChanges: change.metrics.la + change.metrics.ld, filesChanged: change.metrics.nf, ...change.metrics } : {}),
    ...from.riskIndicators,
    ...(o.securitySensitive ? { securitySensitive: true } : {}),
    ...(o.userImpact ? { userImpact: o.userImpact } : {}),
    ...(o.testsPassed ? { testsPassed: true } : {}),
    ...(o.testsFailed ? { testsPassed: false } : {}),
    ...(o.vulns ? { vulnerabilities: parseVulns(o.vulns) } : {}),
  };
  const describe = change ? tryDescribe() : undefined;
  const input = {
    ...from,
    projectId: o.project ?? from.projectId,
    componentName: o.component ?? from.componentName ?? basename(process.cwd()),
    version: o.version ?? from.version ?? describe ?? change?.head.slice(0, 12),
    changes: from.changes ?? change?.files.slice(0, 1000) ?? [],
    riskIndicators: indicators,
    metadata: {
      ...(change ? { git: { commit: change.head, base: change.base, branch: change.branch, author: `${change.author} <${change.authorEmail}>` } } : {}),
      ...from.metadata,
      ...(o.digest ? { artifactDigest: o.digest } : {}),
    },
  };
  const parsed = DeploymentRequestInput.safeParse(input);
  if (!parsed.success) throw new CliExit(EXIT.usage, `the request is not valid:\n${parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}\n(give --project, or set it in --from)`);
  return parsed.data;
}

function tryDescribe(): string | undefined {
  const result = spawnSync('git', ['describe', '--tags', '--always', '--dirty'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() || undefined : undefined;
}

function parseVulns(text: string): NonNullable<RiskIndicators['vulnerabilities']> {
  const counts: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [level, n] = part.split('=');
    if (!['critical', 'high', 'medium', 'low'].includes(level ?? '') || !/^\d+$/.test(n ?? '')) throw new CliExit(EXIT.usage, `--vulns: expected e.g. critical=0,high=2, got ${part}`);
    counts[level!] = Number(n);
  }
  return counts;
}

/** A retried CI job sends the same key, so it gets its first request back instead of a second one. */
export function ciIdempotencyKey(input: Pick<DeploymentRequestInput, 'projectId' | 'componentName' | 'version'>, env = process.env): string | undefined {
  const run = env['GITHUB_RUN_ID']
    ? `github:${env['GITHUB_REPOSITORY'] ?? ''}:${env['GITHUB_RUN_ID']}:${env['GITHUB_RUN_ATTEMPT'] ?? '1'}:${env['GITHUB_JOB'] ?? ''}`
    : env['CI_JOB_ID']
      ? `gitlab:${env['CI_PROJECT_ID'] ?? ''}:${env['CI_JOB_ID']}`
      : env['BUILD_TAG']
        ? `jenkins:${env['BUILD_TAG']}`
        : undefined;
  return run ? `${run}:${input.projectId}:${input.componentName}:${input.version}`.slice(0, 200) : undefined;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliExit(EXIT.usage, `${file}: ${(error as Error).message}`);
  }
}

/** The operator tools that talk to NATS or Postgres directly run as they always did (npm run dlq, audit:verify). */
function runTool(tool: 'dlq' | 'audit-verify' | 'bus', args: string[]): void {
  const entry = join(ROOT, 'dist', 'tools', tool, 'src', 'main.js');
  // The packaged CLI (npm run cli:pack) is for pipelines; the operator tools that reach NATS and Postgres stay in the repository.
  if (!existsSync(entry)) throw new CliExit(EXIT.usage, `agf ${tool === 'audit-verify' ? 'audit verify --database-url' : tool === 'bus' ? 'nats-config / provision' : tool} runs from a checkout of the AGF repository (npm ci), not from the packaged CLI`);
  const result = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit' });
  process.exitCode = result.status ?? EXIT.unreachable;
}

registerRolloutCommands(program, { url: () => globals().url, token: () => globals().token, print });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT.usage;
  const json = Boolean(program.opts<Global>().json);
  const fail = (code: number, message: string, kind: string): number => {
    process.stderr.write(`agf: ${message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: kind, message })}\n`);
    return code;
  };
  if (error instanceof CliExit) return fail(error.code, error.message, 'usage');
  if (error instanceof AgfError) return fail(error.kind === 'unreachable' || error.kind === 'server' ? EXIT.unreachable : EXIT.usage, error.message, error.kind);
  return fail(EXIT.usage, (error as Error).stack ?? String(error), 'internal');
}

void main();
