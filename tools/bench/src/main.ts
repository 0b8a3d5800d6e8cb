import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { messageNameOfSubject, STREAM_NAMES } from '@agf/contracts';
import { isDurableOfService } from '@agf/messaging';
import { freePort, natsUrl, type ServiceProcess, type ServiceName, type TestDatabase, testIdentity, type TestNats } from '@agf/testing';
import { runLoad, startAgf, waitForConsumersToDrain } from './agf-processes';
import { benchServers } from './cleanup';
import { BENCH_REQUESTER } from './bench-request';
import type { LoadResult, LoadRun } from './load-generator';
import { fixed } from './stats';

const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance', 'notify'];
/** What a tier-0 request needs to be decided: the others keep books on it (audit, timers, learning). */
const DECISION_PATH: ServiceName[] = ['intake', 'risk', 'coe'];

/**
 * `npm run bench`: starts AGF (every service its own process, own database and namespace), offers fixed
 * rates of tier-0 requests from a separate load-generator process, and reports decisions/s, request→decision
 * latency, CPU and peak RSS per service; beside it the reference pipeline (plain Node, same hops, same
 * outbox transactions), a step of each at every rate, and AGF's figures as ratios of the reference's.
 */
const HELP = `usage: npm run bench -- [--rates 50,100,200,300,400,600] [--duration 20] [--p99-limit 250] [--skip-reference]
                        [--services ${SERVICES.join(',')}] [--replicas 1] [--warmup 60]
  --replicas  processes per AGF service (each service's replicas share its durable consumers; requests go to
              the intake replicas in turn)
  --warmup    seconds of load (at the first rate, at most 50/s) before the first step, unmeasured
  --services  the AGF services to run (at least ${DECISION_PATH.join(', ')}): e.g. the decision path alone, to see
              what the bookkeeping services cost a host they share with it
env: DATABASE_URL, NATS_URL (the servers to measure against)`;
const CLOCK_TICKS = 100; // Linux USER_HZ

interface ProcessUsage {
  name: string;
  cpuPercent: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** Peak of the anonymous (process-private) part of RSS. */
  peakAnonMb: number;
}

interface StepReport {
  result: LoadResult;
  usage: ProcessUsage[];
  /**
   * CPU time of the whole host (services, Postgres, NATS, load generator) while the step ran, but for the
   * other pipeline's idle processes and their Postgres backends (`otherPipelineCpuSeconds`).
   */
  hostCpuSeconds: number;
  otherPipelineCpuSeconds: number;
  /**
   * How long after the load (and the wait for its last decisions) the consumers still had messages pending or
   * unacknowledged: the bookkeeping that fell behind the decisions, niced below the decision path, catching up.
   */
  catchUpSeconds: number;
  durationSeconds: number;
  /** Of it: every `postgres` and `nats-server` process on the host, and Postgres' backends by client. */
  serverCpuSeconds: { postgres: number; natsServer: number; postgresByClient: Map<string, number> };
}

/** CPU ticks of every process of the two servers, by pid (backends come and go; a new one counts from 0). */
function serverTicks(): Map<number, { comm: string; ticks: number }> {
  const ticks = new Map<number, { comm: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = processStat(entry);
    if (stat && (stat.comm === 'postgres' || stat.comm === 'nats-server')) ticks.set(Number(entry), stat);
  }
  return ticks;
}

/** Samples CPU time and RSS of a set of processes from /proc while a step runs. */
class UsageSampler {
  private readonly startTicks = new Map<string, number>();
  private readonly peakRss = new Map<string, number>();
  private readonly peakAnon = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private hostTicksAtStart = 0;
  private serverTicksAtStart = new Map<number, { comm: string; ticks: number }>();

  constructor(
    private readonly processes: () => Array<{ name: string; pid: number | undefined }>,
    /** Postgres backend pid → the client's `application_name`, for the bench's own database. */
    private readonly backendClients: () => Promise<Map<number, string>>,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.hostTicksAtStart = hostBusyTicks();
    this.serverTicksAtStart = serverTicks();
    for (const p of this.processes()) {
      this.startTicks.set(p.name, cpuTicks(p.pid));
      this.peakRss.set(p.name, 0);
      this.peakAnon.set(p.name, 0);
      this.sampleMemory(p);
    }
    this.timer = setInterval(() => this.processes().forEach((p) => this.sampleMemory(p)), 250);
  }

  private sampleMemory(p: { name: string; pid: number | undefined }): void {
    const { rss, anon } = memoryBytes(p.pid);
    this.peakRss.set(p.name, Math.max(this.peakRss.get(p.name) ?? 0, rss));
    this.peakAnon.set(p.name, Math.max(this.peakAnon.get(p.name) ?? 0, anon));
  }

  async stop(): Promise<Omit<StepReport, 'result' | 'otherPipelineCpuSeconds' | 'catchUpSeconds' | 'durationSeconds'>> {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.startedAt) / 1000;
    const hostCpuSeconds = (hostBusyTicks() - this.hostTicksAtStart) / CLOCK_TICKS;
    const serverCpuSeconds = { postgres: 0, natsServer: 0, postgresByClient: new Map<string, number>() };
    const clients = await this.backendClients();
    for (const [pid, { comm, ticks }] of serverTicks()) {
      const used = (ticks - (this.serverTicksAtStart.get(pid)?.ticks ?? 0)) / CLOCK_TICKS;
      if (comm === 'nats-server') serverCpuSeconds.natsServer += used;
      else {
        serverCpuSeconds.postgres += used;
        const client = clients.get(pid);
        if (client) serverCpuSeconds.postgresByClient.set(client, (serverCpuSeconds.postgresByClient.get(client) ?? 0) + used);
      }
    }
    const usage = this.processes().map((p) => {
      const cpuSeconds = (cpuTicks(p.pid) - (this.startTicks.get(p.name) ?? 0)) / CLOCK_TICKS;
      return {
      name: p.name,
      cpuSeconds,
      cpuPercent: (cpuSeconds / seconds) * 100,
      peakRssMb: (this.peakRss.get(p.name) ?? 0) / 1024 / 1024,
      peakAnonMb: (this.peakAnon.get(p.name) ?? 0) / 1024 / 1024,
      };
    });
    return { usage, hostCpuSeconds, serverCpuSeconds };
  }
}

/** Busy ticks of all CPUs: user, nice, system, irq, softirq and steal from the first line of /proc/stat. */
function hostBusyTicks(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return [user, nice, system, irq, softirq, steal].reduce<number>((sum, ticks) => sum + (ticks ?? 0), 0);
}

function cpuTicks(pid: number | undefined): number {
  return (pid && processStat(pid)?.ticks) || 0;
}

/** Command name and CPU ticks (user + system) of a process, from /proc/<pid>/stat; undefined once it is gone. */
function processStat(pid: number | string): { comm: string; ticks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields resume after its last ')'; utime and stime
    // are then the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/**
 * Resident memory, and the part of it that is the process's own (anonymous: heap, stacks, buffers). The rest
 * is file-backed (the node binary and shared libraries), the same pages for every service on the host.
 */
function memoryBytes(pid: number | undefined): { rss: number; anon: number } {
  if (!pid) return { rss: 0, anon: 0 };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kB('VmRSS'), anon: kB('RssAnon') };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

/** A step is sustained when (nearly) everything offered was decided, without errors, and p99 is under the limit. */
function sustained(step: StepReport, p99Limit: number): boolean {
  const r = step.result;
  return r.errors === 0 && r.undecided === 0 && r.decided >= r.offered * 0.99 && r.latencyMs.p99 <= p99Limit && keptUp(step);
}

/**
 * Whether the bookkeeping kept up with the decisions: its consumers caught up within a tenth of the step's
 * duration (at least 2 s: the backlog is polled every second). A backlog that grows through a step would grow
 * for ever at that rate, however fast the decisions came.
 */
function keptUp(step: StepReport): boolean {
  return step.catchUpSeconds <= Math.max(2, step.durationSeconds / 10);
}

/** A pipeline under measurement: where its load goes, its processes, and its steps so far. */
interface MeasuredSystem {
  label: string;
  target: Omit<LoadRun, 'rate' | 'durationSeconds' | 'drainSeconds' | 'label'>;
  processes: () => Array<{ name: string; pid: number | undefined }>;
  /** How its processes name themselves to Postgres (`application_name`). */
  clientPrefix: string;
  reports: StepReport[];
  /** False once it fell behind: past the knee the backlog only grows, and a step measures it, not the system. */
  stepping: boolean;
  /** Waits for the work a step left behind (AGF's bookkeeping consumers lag past saturation); part of the step. */
  settle: () => Promise<void>;
}

/**
 * A warm-up so JIT, pools and consumers are hot before anything is measured. V8 optimises a function after
 * hundreds (Maglev) to thousands (Turbofan) of calls; at these rates a handler gets there only after a
 * minute, and a 3 s warm-up left the first step 15 % dearer (docs/benchmarks.md).
 */
async function warmUp(system: MeasuredSystem, rate: number, seconds: number): Promise<void> {
  await runLoad({ ...system.target, rate: Math.min(50, rate), durationSeconds: seconds, drainSeconds: 5, label: `${system.label}-warmup` });
  await system.settle();
}

async function measureStep(
  system: MeasuredSystem,
  others: MeasuredSystem[],
  rate: number,
  durationSeconds: number,
  p99Limit: number,
  backendClients: () => Promise<Map<number, string>>,
): Promise<StepReport> {
  const sampler = new UsageSampler(system.processes, backendClients);
  const othersSampler = new UsageSampler(() => others.flatMap((other) => other.processes()), backendClients);
  sampler.start();
  othersSampler.start();
  const result = await runLoad({ ...system.target, rate, durationSeconds, drainSeconds: 10, label: system.label });
  // Inside the measurement: the work a step leaves behind is what its requests cost, and the other system's
  // step that follows must not pay for it.
  const loadEnded = Date.now();
  await system.settle();
  const catchUpSeconds = (Date.now() - loadEnded) / 1000;
  const measured = await sampler.stop();
  // The other pipeline idles meanwhile (printed below): not this step's cost.
  const idle = await othersSampler.stop();
  const { postgresByClient } = measured.serverCpuSeconds;
  let otherPipelineCpuSeconds = idle.usage.reduce((sum, u) => sum + u.cpuSeconds, 0);
  for (const [client, seconds] of postgresByClient) {
    if (!others.some((other) => client.startsWith(other.clientPrefix))) continue;
    otherPipelineCpuSeconds += seconds;
    measured.serverCpuSeconds.postgres -= seconds;
    postgresByClient.delete(client);
  }
  const report: StepReport = { result, ...measured, hostCpuSeconds: measured.hostCpuSeconds - otherPipelineCpuSeconds, otherPipelineCpuSeconds, catchUpSeconds, durationSeconds };
  system.reports.push(report);
  printStep(report, p99Limit);
  // What a service costs when it has nothing to do (timers, pollers, heartbeats): paid on every host it runs on.
  for (const other of others) {
    const usage = idle.usage.filter((u) => other.processes().some((p) => p.name === u.name));
    if (usage.length) console.log(`          meanwhile ${other.label} idled: ${fixed(usage.reduce((sum, u) => sum + u.cpuPercent, 0), 1)} % of a core for its ${usage.length} processes together`);
  }
  if (!sustained(report, p99Limit) && result.decisionsPerSecond < rate * 0.8) system.stepping = false;
  return report;
}

/**
 * Steps the systems through the rates side by side: at each rate one step of each, a minute apart. The host
 * is shared with other tenants whose load comes and goes within minutes; measured one whole series after the
 * other, the same code's ratio moves between 20 and 30 % an hour apart.
 */
async function stepThrough(systems: MeasuredSystem[], rates: number[], durationSeconds: number, p99Limit: number, backendClients: () => Promise<Map<number, string>>): Promise<void> {
  for (const rate of rates) {
    const steps = new Map<string, StepReport>();
    for (const system of systems.filter((s) => s.stepping)) {
      steps.set(system.label, await measureStep(system, systems.filter((other) => other !== system), rate, durationSeconds, p99Limit, backendClients));
    }
    if (steps.size === 2) console.log(`          ${compareAtRate(rate, [...steps.values()] as [StepReport, StepReport])}`);
    if (!systems.some((s) => s.stepping)) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function hostCpuPerDecisionMs(step: StepReport): number {
  return (step.hostCpuSeconds * 1000) / Math.max(1, step.result.decided);
}

/** The first step's host CPU per decision and p99 beside the second's, measured a minute apart. */
function compareAtRate(rate: number, [a, b]: [StepReport, StepReport]): string {
  const [cpuA, cpuB] = [hostCpuPerDecisionMs(a), hostCpuPerDecisionMs(b)];
  return (
    `at ${rate}/s: host CPU per decision ${a.result.label} ${fixed(cpuA, 1)} ms, ${b.result.label} ${fixed(cpuB, 1)} ms (× ${fixed(cpuA / cpuB, 2)}); ` +
    `p99 ${fixed(a.result.latencyMs.p99)} against ${fixed(b.result.latencyMs.p99)} ms`
  );
}

function printStep(step: StepReport, p99Limit: number): void {
  const { result: r, usage, hostCpuSeconds, serverCpuSeconds, otherPipelineCpuSeconds } = step;
  console.log(
    `${r.label.padEnd(9)} offered ${String(r.rate).padStart(4)}/s: ${fixed(r.decisionsPerSecond)} decisions/s, latency p50 ${fixed(r.latencyMs.p50)} p90 ${fixed(r.latencyMs.p90)} p99 ${fixed(r.latencyMs.p99)} ms, ` +
      `accepted ${r.accepted}/${r.offered}, errors ${r.errors}, undecided ${r.undecided}${sustained(step, p99Limit) ? '' : '  ← not sustained'}`,
  );
  if (r.errorSamples.length) console.log(`          errors: ${r.errorSamples.join(' | ')}`);
  if (step.catchUpSeconds >= 1) console.log(`          the consumers caught up ${fixed(step.catchUpSeconds, 0)} s after the load (and its last decisions) ended${keptUp(step) ? '' : ': the bookkeeping fell behind'}`);
  console.log(`          ${usage.map((u) => `${u.name} ${fixed(u.cpuPercent, 0)}% ${fixed(u.peakRssMb, 0)} MB (own ${fixed(u.peakAnonMb, 0)})`).join(', ')}`);
  // Comparable across runs at a rate both sustain, where saturation figures move with the host's other tenants.
  if (!r.decided) return;
  const perDecision = (seconds: number) => fixed((seconds * 1000) / r.decided, 1);
  const processSeconds = usage.reduce((sum, u) => sum + u.cpuSeconds, 0);
  const { postgres, natsServer, postgresByClient } = serverCpuSeconds;
  const leftOut = otherPipelineCpuSeconds ? `; the other pipeline's idle processes, ${perDecision(otherPipelineCpuSeconds)} ms, left out` : '';
  console.log(`          host CPU per decision: ${perDecision(hostCpuSeconds)} ms (everything on the host, load generator included${leftOut})`);
  console.log(
    `            of it: these processes ${perDecision(processSeconds)}, Postgres ${perDecision(postgres)} (${[...postgresByClient]
      .filter(([, seconds]) => (seconds * 1000) / r.decided >= 0.05)
      .map(([client, seconds]) => `${client} ${perDecision(seconds)}`)
      .join(', ')}), ` +
      `nats-server ${perDecision(natsServer)}, the rest ${perDecision(hostCpuSeconds - processSeconds - postgres - natsServer)} (load generator, kernel, other tenants)`,
  );
}

/**
 * Events stored and messages delivered to each durable consumer, per decision made: every delivery is
 * decoded, handled (or ignored) and acknowledged, so this is the work a request costs the services.
 */
async function printDeliveriesPerDecision(nats: TestNats, services: ServiceProcess[], processName: (s: ServiceProcess, i: number) => string): Promise<void> {
  const decisions = (await nats.jsm.streams.info(nats.namespace.stream('AGF_DECISION'))).state.messages;
  if (!decisions) return;
  // The bookkeeping consumers lag behind the decisions past saturation: counted once they caught up.
  const drained = await waitForConsumersToDrain(nats, 120_000);
  if (!drained) console.log('  (consumers still behind after 120 s: the figures below undercount)');
  // Start-up (migrations, stream set-up) included: a few hundred statements, under 0.1 per decision after a run.
  const counts = await Promise.all(services.map(async (s, i) => ({ name: processName(s, i), service: s.name, ...(await serviceCounters(s.url)) })));
  const byService = (key: 'statements' | 'processed') => {
    const sums = new Map<string, number>();
    for (const c of counts) sums.set(c.service, (sums.get(c.service) ?? 0) + c[key]);
    return sums;
  };
  const statements = byService('statements');
  const allStatements = [...statements.values()].reduce((sum, n) => sum + n, 0);
  console.log(`  per decision: ${fixed(allStatements / decisions, 1)} Postgres statements (${[...statements].map(([name, n]) => `${name} ${fixed(n / decisions, 1)}`).join(', ')})`);
  if (counts.length > new Set(counts.map((c) => c.service)).size) {
    // Replicas share each service's consumers: the messages each one handled show how the work was spread.
    console.log(`  messages handled per replica: ${counts.map((c) => `${c.name} ${c.processed}`).join(', ')}`);
  }
  let stored = 0;
  const delivered = new Map<string, number>();
  const byType = new Map<string, number>();
  for (const stream of STREAM_NAMES) {
    const name = nats.namespace.stream(stream);
    const info = await nats.jsm.streams.info(name, { subjects_filter: '>' }).catch(() => undefined);
    if (!info) continue;
    stored += info.state.messages;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const type = messageNameOfSubject(nats.namespace.strip(subject) ?? subject) ?? subject;
      byType.set(type, (byType.get(type) ?? 0) + count);
    }
    for await (const consumer of nats.jsm.consumers.list(name)) {
      // A service's consumers of one stream, one per message type it reads there, count as the service's.
      const service = services.find((s) => isDurableOfService(s.name, stream, consumer.name))?.name ?? consumer.name;
      delivered.set(service, (delivered.get(service) ?? 0) + consumer.delivered.consumer_seq);
    }
  }
  const total = [...delivered.values()].reduce((a, b) => a + b, 0);
  console.log(
    `  per decision: ${fixed(stored / decisions, 1)} events stored, ${fixed(total / decisions, 1)} deliveries (` +
      [...delivered].filter(([, count]) => count > 0).map(([consumer, count]) => `${consumer} ${fixed(count / decisions, 1)}`).join(', ') +
      ')',
  );
  // A dead letter is a message a service gave up on: none may come of well-formed requests.
  for (const letter of await nats.read('AGF_DLQ')) console.log(`  dead letter on ${letter.subject}: ${letter.headers['Agf-Dlq-Reason'] ?? 'no reason'}`);
  console.log(`  events per decision: ${[...byType].map(([type, count]) => `${type.replace(/^agf\.v1\./, '')} ${fixed(count / decisions, 1)}`).join(', ')}`);
}

/** The service's `agf_db_statements_total`, and the messages it processed (`agf_messages_total`). */
async function serviceCounters(serviceUrl: string): Promise<{ statements: number; processed: number }> {
  const authorization = await (await testIdentity()).bearer({ sub: 'bench-metrics', roles: ['metrics'] });
  const lines = (await (await fetch(`${serviceUrl}/metrics`, { headers: { authorization } })).text()).split('\n');
  const value = (line: string): number => Number(line.split(' ').pop());
  const statements = lines.find((l) => l.startsWith('agf_db_statements_total'));
  const processed = lines.filter((l) => l.startsWith('agf_messages_total{') && l.includes('result="processed"')).reduce((sum, l) => sum + value(l), 0);
  return { statements: statements ? value(statements) : Number.NaN, processed };
}

function best(reports: StepReport[], p99Limit: number): StepReport | undefined {
  return reports.filter((r) => sustained(r, p99Limit)).sort((a, b) => b.result.decisionsPerSecond - a.result.decisionsPerSecond)[0];
}

async function startReference(db: TestDatabase, nats: TestNats): Promise<{ processes: Array<{ name: string; child: ChildProcess }>; port: number; stream: string; prefix: string }> {
  await db.query(`CREATE SCHEMA "bench_reference"`);
  await db.query(`CREATE TABLE "bench_reference"."state" ("id" uuid PRIMARY KEY, "hop" int NOT NULL, "body" text NOT NULL)`);
  await db.query(`CREATE TABLE "bench_reference"."outbox" ("seq" bigserial PRIMARY KEY, "event_id" uuid NOT NULL UNIQUE, "subject" text NOT NULL, "payload" text NOT NULL, "sent_at" timestamptz)`);
  await db.query(`CREATE INDEX "outbox_unsent" ON "bench_reference"."outbox" ("seq") WHERE "sent_at" IS NULL`);
  const prefix = `${nats.namespace.prefix}ref`;
  const stream = `${prefix.toUpperCase()}_REFERENCE`;
  await nats.jsm.streams.add({ name: stream, subjects: [`${prefix}.ref.>`], duplicate_window: 120_000_000_000 });
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: db.url, NATS_URL: natsUrl(), REF_PREFIX: prefix, REF_STREAM: stream, REF_PORT: String(port), REF_HOPS: '2' };
  const script = join(__dirname, 'reference', 'pipeline.js');
  const processes = [
    { name: 'ref-ingress', child: spawn(process.execPath, [script, 'ingress'], { env, stdio: 'inherit' }) },
    { name: 'ref-hop1', child: spawn(process.execPath, [script, 'hop', '1'], { env, stdio: 'inherit' }) },
    { name: 'ref-hop2', child: spawn(process.execPath, [script, 'hop', '2'], { env, stdio: 'inherit' }) },
  ];
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('reference ingress did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { processes, port, stream, prefix };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rates: { type: 'string', default: '50,100,200,300,400,600' },
      duration: { type: 'string', default: '20' },
      'p99-limit': { type: 'string', default: '250' },
      'skip-reference': { type: 'boolean', default: false },
      services: { type: 'string', default: SERVICES.join(',') },
      warmup: { type: 'string', default: '60' },
      replicas: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const rates = values.rates.split(',').map(Number);
  const duration = Number(values.duration);
  const p99Limit = Number(values['p99-limit']);
  const warmup = Number(values.warmup);
  const replicas = Number(values.replicas);
  const requested = values.services.split(',');
  const names = SERVICES.filter((name) => requested.includes(name));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0) || !(duration > 0) || !(p99Limit > 0) || !(warmup > 0) || !Number.isInteger(replicas) || replicas < 1) throw new UsageError(`bad arguments\n${HELP}`);
  const unknown = requested.filter((name) => !(SERVICES as string[]).includes(name));
  if (unknown.length || DECISION_PATH.some((name) => !names.includes(name))) throw new UsageError(`--services: ${unknown.length ? `unknown ${unknown.join(', ')}` : `needs ${DECISION_PATH.join(', ')}`}\n${HELP}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fixed(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${duration} s per step, sustained = all decided, no errors, p99 ≤ ${p99Limit} ms, consumers caught up within a tenth of the step`);

  const { cleanup, db, nats } = await benchServers('bench');
  const backendClients = async () =>
    new Map(
      (await db.query<{ pid: number; client: string }>(`SELECT "pid", "application_name" AS "client" FROM pg_stat_activity WHERE "datname" = current_database() AND "pid" <> pg_backend_pid()`)).map(
        (row) => [row.pid, row.client || 'unnamed'],
      ),
    );
  try {
    const services = await startAgf(db, nats, names, { replicas });
    const processName = (s: ServiceProcess, i: number): string => (replicas > 1 ? `${s.name}#${Math.floor(i / names.length) + 1}` : s.name);
    cleanup.add(() => Promise.all(services.map((s) => s.stop())));
    // A pipeline's OIDC token (ServiceProcess points the services at this process's issuer), verified on every
    // request as any credential would be: authentication is part of what a decision costs AGF. Valid for the run.
    const authorization = await (await testIdentity()).bearer({ sub: BENCH_REQUESTER, roles: ['submitter'], projects: ['bench-project'] }, { expiresIn: 86_400 });
    const agf: MeasuredSystem = {
      label: 'agf',
      target: { submitUrls: services.filter((s) => s.name === 'intake').map((s) => `${s.url}/v1/deployment-requests`), authorization, natsUrl: natsUrl(), decisionSubject: nats.namespace.subject('agf.v1.decision.made.>') },
      processes: () => services.map((s, i) => ({ name: processName(s, i), pid: s.pid })),
      clientPrefix: 'agf-',
      reports: [],
      stepping: true,
      settle: async () => {
        if (!(await waitForConsumersToDrain(nats, 120_000))) console.log('          (AGF\'s consumers still behind 120 s after the step)');
      },
    };
    const systems = [agf];
    if (!values['skip-reference']) {
      const ref = await startReference(db, nats);
      cleanup.add(async () => {
        ref.processes.forEach((p) => p.child.kill());
        await nats.jsm.streams.delete(ref.stream).catch(() => undefined);
      });
      systems.push({
        label: 'reference',
        target: { submitUrls: [`http://127.0.0.1:${ref.port}/`], natsUrl: natsUrl(), decisionSubject: `${ref.prefix}.ref.decision.made` },
        processes: () => ref.processes.map((p) => ({ name: p.name, pid: p.child.pid })),
        clientPrefix: 'ref-',
        reports: [],
        stepping: true,
        settle: async () => undefined,
      });
    }
    console.log(
      `\nAGF (tier-0 requests over HTTP, decision.made on NATS${names.length < SERVICES.length ? `; only ${names.join(', ')}` : ''}${replicas > 1 ? `; ${replicas} replicas of each service` : ''})` +
        (systems.length > 1 ? ' and the reference pipeline (plain Node, same hops and outbox transactions), a step of each per rate:' : ':'),
    );
    for (const system of systems) await warmUp(system, rates[0]!, warmup);
    await stepThrough(systems, rates, duration, p99Limit, backendClients);
    await printDeliveriesPerDecision(nats, services, processName);
    const reference = systems[1]?.reports ?? [];

    const agfBest = best(agf.reports, p99Limit);
    const refBest = best(reference, p99Limit);
    console.log('\nSummary');
    console.log(`  AGF highest sustained rate: ${agfBest ? `${fixed(agfBest.result.decisionsPerSecond)} decisions/s (offered ${agfBest.result.rate}/s, p99 ${fixed(agfBest.result.latencyMs.p99)} ms)` : 'none of the offered rates'}`);
    if (refBest) console.log(`  reference highest sustained rate: ${fixed(refBest.result.decisionsPerSecond)} decisions/s (offered ${refBest.result.rate}/s, p99 ${fixed(refBest.result.latencyMs.p99)} ms)`);
    if (agfBest && refBest) console.log(`  ratio AGF / reference: ${fixed((agfBest.result.decisionsPerSecond / refBest.result.decisionsPerSecond) * 100, 0)} % of the reference's sustained rate`);
    let highestCommon: [StepReport, StepReport] | undefined;
    for (const a of agf.reports) {
      const r = reference.find((x) => x.result.rate === a.result.rate);
      if (!r) continue;
      console.log(`  ${compareAtRate(a.result.rate, [a, r])}`);
      highestCommon = [a, r];
    }
    if (highestCommon) {
      // p99 on a shared host moves with its other tenants' stalls (the reference's too); CPU per decision much less.
      const [a, r] = highestCommon;
      const ratio = hostCpuPerDecisionMs(a) / hostCpuPerDecisionMs(r);
      console.log(
        `  at ${a.result.rate}/s, the highest rate both ran: AGF spends ${fixed(ratio, 2)} × the reference's host CPU per decision, so where CPU is the limit ` +
          `it decides at most about ${fixed(100 / ratio, 0)} % of what the reference does (the reference's CPU per decision still falls at higher rates)`,
      );
    }
    const peak = new Map<string, { rss: number; anon: number }>();
    for (const step of agf.reports) {
      for (const u of step.usage) {
        const seen = peak.get(u.name) ?? { rss: 0, anon: 0 };
        peak.set(u.name, { rss: Math.max(seen.rss, u.peakRssMb), anon: Math.max(seen.anon, u.peakAnonMb) });
      }
    }
    console.log(`  peak RSS per service under load: ${[...peak].map(([name, mb]) => `${name} ${fixed(mb.rss, 0)} MB`).join(', ')}`);
    console.log(
      `  of it the process's own (anonymous) memory: ${[...peak].map(([name, mb]) => `${name} ${fixed(mb.anon, 0)} MB`).join(', ')}; the rest is the node binary and libraries, the same pages for every service`,
    );
  } finally {
    await cleanup.run();
  }
}

/** Wrong command-line arguments: said without a stack trace. */
class UsageError extends Error {}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${error instanceof UsageError ? error.message : ((error as Error).stack ?? error)}`);
    process.exit(1);
  },
);
