import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { STREAM_NAMES } from '@agf/contracts';
import { type AuditRow, auditEntryFromRow, type ChainVerificationResult, verifyChainSegment } from '@agf/compliance-domain';
import { createTestDatabase, natsUrl, type ServiceName, type ServiceProcess, type TestDatabase, testIdentity, TestNats } from '@agf/testing';
import { Client } from 'pg';
import { runLoad, startAgf, waitForConsumersToDrain } from './agf-processes';
import { BENCH_REQUESTER } from './bench-request';
import { benchServers } from './cleanup';
import { hotPathStatements, judgePlan } from './history-explain';
import { BUSIEST_COMPONENT, BUSIEST_PROJECT, preloadHistory } from './history-preload';
import type { LoadResult } from './load-generator';
import { fixed, type LatencySummary, summarise } from './stats';

/**
 * `npm run bench:history`: the same system twice in one run, on an empty database and on one preloaded with
 * years of history (every service's tables, a valid audit chain), measured side by side: new tier-0 decisions at
 * a fixed rate, reads of a request's story, and verifying a period of the audit chain. Prints each figure for
 * both, the ratio preloaded/empty (flagged beyond 1.10), and then EXPLAINs the services' hot-path statements on
 * the preloaded database.
 */
const HELP = `usage: npm run bench:history -- [--projects 1000] [--requests 1000000] [--years 5] [--rate 40] [--duration 20]
                                [--rounds 2] [--warmup 30] [--reads 1000] [--period-entries 5000] [--chunk 50000]
  --requests         decided requests in the preloaded history (spread over --years, across --projects)
  --rate/--duration  the new tier-0 decisions offered to each system per round (rounds alternate which goes first)
  --reads            story reads of old and of new requests, per system (a p99 of 200 rests on its two slowest)
  --period-entries   the audit entries a period verification checks (about a day and a half of the default history)
  --pool-size        each service's Postgres pool (AGF_DB_POOL_SIZE): two stacks of seven at the default 10 would
                     need 140 connections, more than Postgres's default 100
  --preload-only URL only write the history into that database (its services' migrations run, the services stopped)
env: DATABASE_URL, NATS_URL`;
const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance', 'notify'];
/** The issue's bound: every figure within 10 % of the empty database's. */
const LIMIT = 1.1;

interface System {
  label: 'empty' | 'preloaded';
  db: TestDatabase;
  nats: TestNats;
  services: ServiceProcess[];
}

interface Figure {
  name: string;
  empty: number;
  preloaded: number;
  /** Whether more is better (throughput) rather than worse (latency, time). */
  higherIsBetter?: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      projects: { type: 'string', default: '1000' },
      requests: { type: 'string', default: '1000000' },
      years: { type: 'string', default: '5' },
      rate: { type: 'string', default: '40' },
      duration: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '30' },
      reads: { type: 'string', default: '1000' },
      'period-entries': { type: 'string', default: '5000' },
      chunk: { type: 'string', default: '50000' },
      'pool-size': { type: 'string', default: '5' },
      'preload-only': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const n = Object.fromEntries(Object.entries(values).filter(([key]) => key !== 'help' && key !== 'preload-only').map(([key, value]) => [key, Number(value)])) as Record<string, number>;
  if (Object.values(n).some((value) => !(Number.isFinite(value) && value > 0)) || n['projects']! < 2) throw new UsageError(`bad arguments\n${HELP}`);
  const { projects, requests, years, rate, duration, rounds, warmup, reads, chunk } = n as Record<string, number> & { projects: number; requests: number; years: number; rate: number; duration: number; rounds: number; warmup: number; reads: number; chunk: number };
  if (values['preload-only']) return preloadOnly(values['preload-only'], { projects, requests, years, chunk, now: new Date() });
  const commit = gitCommit();
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fixed(totalmem() / 2 ** 30)} GiB, Node ${process.version}; commit ${commit}`);
  console.log(`history: ${projects.toLocaleString('en-US')} projects, ${requests.toLocaleString('en-US')} decided requests over ${years} years`);

  const { cleanup, db: emptyDb, nats: emptyNats } = await benchServers('bench:history');
  try {
    const preloadedDb = await createTestDatabase();
    cleanup.add(() => preloadedDb.drop());
    const preloadedNats = await TestNats.connect();
    cleanup.add(() => preloadedNats.cleanup());
    console.log(`preloaded: database ${preloadedDb.name}, NATS namespace ${preloadedNats.namespace.prefix} (removed likewise)`);

    const poolEnv = { AGF_DB_POOL_SIZE: String(n['pool-size']) };
    const empty: System = { label: 'empty', db: emptyDb, nats: emptyNats, services: await startAgf(emptyDb, emptyNats, SERVICES, { env: poolEnv }) };
    cleanup.add(() => Promise.all(empty.services.map((s) => s.stop())));
    // The preloaded system's services run their migrations, stop while the history is written (the audit chain
    // continues from its head, which nothing else may move meanwhile), then start on it.
    const preloaded: System = { label: 'preloaded', db: preloadedDb, nats: preloadedNats, services: await startAgf(preloadedDb, preloadedNats, SERVICES, { env: poolEnv }) };
    cleanup.add(() => Promise.all(preloaded.services.map((s) => s.stop())));
    for (const service of preloaded.services) await service.stop();
    await removeEphemeralConsumers(preloadedNats);
    const report = await preloadHistory(preloadedDb, { projects, requests, years, chunk, now: new Date() }, (message) => console.log(`  preload: ${message}`));
    console.log(
      `preload: ${fixed(report.seconds, 0)} s for ${requests.toLocaleString('en-US')} requests and ${report.auditEntries.toLocaleString('en-US')} audit entries; ` +
        `database ${fixed(report.databaseBytes / 2 ** 30, 2)} GiB`,
    );
    console.log(`  rows: ${Object.entries(report.rows).filter(([, count]) => count > 0).map(([table, count]) => `${table} ${count.toLocaleString('en-US')}`).join(', ')}`);
    // The bulk load's dirty pages written out now, not by the checkpointer during the measurements.
    await preloadedDb.query('CHECKPOINT');
    for (const service of preloaded.services) await service.restart();
    const systems = [empty, preloaded];

    const authorization = await (await testIdentity()).bearer({ sub: BENCH_REQUESTER, roles: ['submitter'], projects: [BENCH_PROJECT_OF_LOAD] }, { expiresIn: 86_400 });
    const target = (s: System) => ({
      submitUrls: [`${s.services[0]!.url}/v1/deployment-requests`],
      authorization,
      natsUrl: natsUrl(),
      decisionSubject: s.nats.namespace.subject('agf.v1.decision.made.>'),
    });
    const settle = async (s: System) => {
      if (!(await waitForConsumersToDrain(s.nats, 120_000))) console.log(`  (${s.label}: consumers still behind 120 s after the step: ${await laggingConsumers(s.nats)})`);
    };

    console.log(`\nwarm-up: ${warmup} s at ${rate}/s each`);
    for (const s of systems) {
      await runLoad({ ...target(s), rate, durationSeconds: warmup, drainSeconds: 5, label: `${s.label}-warmup` });
      await settle(s);
    }

    console.log(`new tier-0 decisions: ${rounds} round(s) of ${duration} s at ${rate}/s, the systems alternating which goes first`);
    const results: Record<System['label'], LoadResult[]> = { empty: [], preloaded: [] };
    const wal: Record<System['label'], WalPerDecision[]> = { empty: [], preloaded: [] };
    for (let round = 0; round < rounds; round += 1) {
      for (const s of round % 2 ? [...systems].reverse() : systems) {
        const walBefore = await walWritten(s.db);
        const result = await runLoad({ ...target(s), rate, durationSeconds: duration, drainSeconds: 10, label: s.label });
        await settle(s);
        const walOfRound = perDecision(walBefore, await walWritten(s.db), result.decided);
        results[s.label].push(result);
        wal[s.label].push(walOfRound);
        if (result.errors) printServiceErrors(s);
        console.log(
          `  ${s.label.padEnd(9)} ${fixed(result.decisionsPerSecond)} decisions/s, p50 ${fixed(result.latencyMs.p50)} p99 ${fixed(result.latencyMs.p99)} ms, ` +
            `accepted ${result.accepted}/${result.offered}, errors ${result.errors}, undecided ${result.undecided}${result.errorSamples.length ? ` (${result.errorSamples.join(' | ')})` : ''}; ` +
            `per decision ${fixed(walOfRound.kib)} KiB of WAL, ${fixed(walOfRound.fullPages)} full-page images`,
        );
      }
    }

    console.log(`story reads: ${reads} of old requests and ${reads} of new ones per system (GET …/{id} and …/{id}/events), interleaved`);
    const stories = await measureStoryReads(systems, reads, authorization);

    const periodEntries = Math.min(n['period-entries']!, ...(await Promise.all(systems.map(async (s) => (await chainHead(s.db)).sequence - 1))));
    console.log(`audit verify of a period: ${periodEntries.toLocaleString('en-US')} entries (the newest on both; on the preloaded, also a period half-way through its history)`);
    const verify = await measurePeriodVerification(systems, periodEntries);

    const mean = (label: System['label'], pick: (r: LoadResult) => number) => results[label].reduce((sum, r) => sum + pick(r), 0) / results[label].length;
    const figures: Figure[] = [
      { name: `decisions/s offered ${rate}/s`, empty: mean('empty', (r) => r.decisionsPerSecond), preloaded: mean('preloaded', (r) => r.decisionsPerSecond), higherIsBetter: true },
      { name: 'request→decision p50 (ms)', empty: mean('empty', (r) => r.latencyMs.p50), preloaded: mean('preloaded', (r) => r.latencyMs.p50) },
      { name: 'request→decision p99 (ms)', empty: mean('empty', (r) => r.latencyMs.p99), preloaded: mean('preloaded', (r) => r.latencyMs.p99) },
      { name: 'WAL written per decision (KiB)', empty: meanOf(wal.empty.map((w) => w.kib)), preloaded: meanOf(wal.preloaded.map((w) => w.kib)) },
      { name: 'story read of an old request p50 (ms)', empty: stories.empty.old.p50, preloaded: stories.preloaded.old.p50 },
      { name: 'story read of an old request p99 (ms)', empty: stories.empty.old.p99, preloaded: stories.preloaded.old.p99 },
      { name: 'story read of a new request p50 (ms)', empty: stories.empty.new.p50, preloaded: stories.preloaded.new.p50 },
      { name: 'story read of a new request p99 (ms)', empty: stories.empty.new.p99, preloaded: stories.preloaded.new.p99 },
      { name: 'audit verify of the newest period (ms)', empty: verify.emptyNewest, preloaded: verify.preloadedNewest },
      { name: 'audit verify of an old period (ms)', empty: verify.emptyNewest, preloaded: verify.preloadedOld },
    ];
    printFigures(figures, `${requests.toLocaleString('en-US')} requests over ${years} years, ${projects.toLocaleString('en-US')} projects; commit ${commit}`);

    await explainHotPaths(preloaded.db);
  } finally {
    await cleanup.run();
  }
}

async function preloadOnly(databaseUrl: string, shape: Parameters<typeof preloadHistory>[1]): Promise<void> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'bench-history-preload' });
  await client.connect();
  try {
    const report = await preloadHistory({ query: async (sql, params) => (await client.query(sql, params)).rows }, shape, (message) => console.log(`preload: ${message}`));
    console.log(`preload: ${fixed(report.seconds, 1)} s, ${report.auditEntries} audit entries, database ${fixed(report.databaseBytes / 2 ** 20, 0)} MiB`);
  } finally {
    await client.end();
  }
}

/** The load generator's requests are the bench project's (bench-request.ts): the busiest project of the history. */
const BENCH_PROJECT_OF_LOAD = BUSIEST_PROJECT;

/**
 * The consumers the stopped services left (ordered consumers, named by the server): nothing reads them any
 * more, and their pending messages would keep `waitForConsumersToDrain` waiting until they expire.
 */
async function removeEphemeralConsumers(nats: TestNats): Promise<void> {
  for (const stream of STREAM_NAMES) {
    const name = nats.namespace.stream(stream);
    if (!(await nats.jsm.streams.info(name).catch(() => undefined))) continue;
    const ephemeral: string[] = [];
    for await (const consumer of nats.jsm.consumers.list(name)) if (!consumer.config.durable_name) ephemeral.push(consumer.name);
    for (const consumer of ephemeral) await nats.jsm.consumers.delete(name, consumer).catch(() => undefined);
  }
}

/** Consumers with messages pending or unacknowledged, and how many. */
async function laggingConsumers(nats: TestNats): Promise<string> {
  const behind: string[] = [];
  for (const stream of STREAM_NAMES) {
    const name = nats.namespace.stream(stream);
    if (!(await nats.jsm.streams.info(name).catch(() => undefined))) continue;
    for await (const consumer of nats.jsm.consumers.list(name)) {
      const count = consumer.num_pending + consumer.num_ack_pending;
      if (count) behind.push(`${consumer.name} ${count}`);
    }
  }
  return behind.join(', ') || 'none now';
}

/** The last error lines the system's services wrote: what a 500 was. */
function printServiceErrors(s: System): void {
  for (const service of s.services) {
    const lines = service.output.join('').split('\n').filter((line) => /error/i.test(line)).slice(-3);
    for (const line of lines) console.log(`    ${s.label} ${service.name}: ${line.slice(0, 400)}`);
  }
}

function gitCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function readStory(s: System, id: string, authorization: string): Promise<number> {
  const started = performance.now();
  const base = `${s.services[0]!.url}/v1/deployment-requests/${id}`;
  const [view, events] = await Promise.all([fetch(base, { headers: { authorization } }), fetch(`${base}/events`, { headers: { authorization } })]);
  // The event stream ends after decision.made: reading it whole is reading the story.
  await Promise.all([view.text(), events.text()]);
  if (view.status !== 200 || events.status !== 200) throw new Error(`story of ${id} on ${s.label}: ${view.status} / ${events.status}`);
  return performance.now() - started;
}

/**
 * Old: random decided requests of the bench project older than a day (on the empty database, those of the
 * warm-up); new: the newest decided ones (from the measured rounds).
 */
async function measureStoryReads(systems: System[], reads: number, authorization: string): Promise<Record<System['label'], { old: LatencySummary; new: LatencySummary }>> {
  const ids = new Map<System, { old: string[]; new: string[] }>();
  for (const s of systems) {
    const decided = `"project_id" = $1 AND "status" = 'decided'`;
    const old = await s.db.query<{ id: string }>(
      s.label === 'preloaded'
        ? `SELECT "id" FROM "intake"."requests" WHERE ${decided} AND "created_at" < now() - interval '1 day' ORDER BY random() LIMIT $2`
        : `SELECT "id" FROM (SELECT "id" FROM "intake"."requests" WHERE ${decided} ORDER BY "created_at" LIMIT $2) AS oldest ORDER BY random()`,
      [BENCH_PROJECT_OF_LOAD, reads],
    );
    const newest = await s.db.query<{ id: string }>(`SELECT "id" FROM "intake"."requests" WHERE ${decided} ORDER BY "created_at" DESC LIMIT $2`, [BENCH_PROJECT_OF_LOAD, reads]);
    ids.set(s, { old: old.map((r) => r.id), new: newest.map((r) => r.id) });
  }
  const timings = new Map<System, { old: number[]; new: number[] }>(systems.map((s) => [s, { old: [], new: [] }]));
  for (const kind of ['old', 'new'] as const) {
    for (let i = 0; i < reads; i += 1) {
      for (const s of i % 2 ? [...systems].reverse() : systems) {
        const id = ids.get(s)![kind][i % Math.max(1, ids.get(s)![kind].length)];
        if (id) timings.get(s)![kind].push(await readStory(s, id, authorization));
      }
    }
  }
  const summary = (s: System) => ({ old: summarise(timings.get(s)!.old), new: summarise(timings.get(s)!.new) });
  return { empty: summary(systems[0]!), preloaded: summary(systems[1]!) };
}

interface WalPerDecision {
  kib: number;
  /** Pages written whole: the first change to a page after a checkpoint (what random index inserts multiply). */
  fullPages: number;
}

/** The cluster's WAL written so far (`pg_stat_wal`): each round is measured while the other system idles. */
async function walWritten(db: TestDatabase): Promise<{ bytes: number; fullPages: number }> {
  const [row] = await db.query<{ wal_bytes: string; wal_fpi: string }>(`SELECT "wal_bytes", "wal_fpi" FROM pg_stat_wal`);
  return { bytes: Number(row!.wal_bytes), fullPages: Number(row!.wal_fpi) };
}

function perDecision(before: { bytes: number; fullPages: number }, after: { bytes: number; fullPages: number }, decided: number): WalPerDecision {
  const n = Math.max(1, decided);
  return { kib: (after.bytes - before.bytes) / 1024 / n, fullPages: (after.fullPages - before.fullPages) / n };
}

function meanOf(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
}

async function chainHead(db: TestDatabase): Promise<{ sequence: number; entryHash: string }> {
  const [head] = await db.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
  return { sequence: Number(head!.sequence), entryHash: head!.entry_hash };
}

/** Verifies `entries` entries ending at `last`, as the offline verifier reads them (its own connection, one snapshot); returns milliseconds. */
async function timePeriodVerification(db: TestDatabase, last: number, entries: number): Promise<{ ms: number; result: ChainVerificationResult }> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    const started = performance.now();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const from = await client.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."audit_entries" WHERE "sequence" = $1`, [last - entries]);
    const after = { sequence: Number(from.rows[0]!.sequence), entryHash: from.rows[0]!.entry_hash };
    const result = await verifyChainSegment(
      async (afterSequence, limit) => (await client.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [afterSequence, limit])).rows.map(auditEntryFromRow),
      after,
      last,
    );
    await client.query('COMMIT');
    return { ms: performance.now() - started, result };
  } finally {
    await client.end();
  }
}

/** Median of five timings each, interleaved; a period that does not verify fails the bench (the preload must chain validly). */
/** A period's verification takes ~0.2 s of one core: a single stall of the host moves one timing by half. */
const TIMINGS = 5;

async function measurePeriodVerification(systems: System[], entries: number): Promise<{ emptyNewest: number; preloadedNewest: number; preloadedOld: number }> {
  const [empty, preloaded] = systems as [System, System];
  const emptyHead = (await chainHead(empty.db)).sequence;
  const preloadedHead = (await chainHead(preloaded.db)).sequence;
  const runs = [
    { key: 'emptyNewest', db: empty.db, last: emptyHead },
    { key: 'preloadedNewest', db: preloaded.db, last: preloadedHead },
    { key: 'preloadedOld', db: preloaded.db, last: Math.max(entries + 1, Math.floor(preloadedHead / 2)) },
  ] as const;
  const times: Record<string, number[]> = {};
  for (let i = 0; i < TIMINGS; i += 1) {
    for (const run of runs) {
      const { ms, result } = await timePeriodVerification(run.db, run.last, entries);
      if (!result.valid) throw new Error(`${run.key}: the period ending at entry ${run.last} does not verify: ${JSON.stringify(result.firstBrokenEntry)}`);
      (times[run.key] ??= []).push(ms);
    }
  }
  const median = (key: string) => [...times[key]!].sort((a, b) => a - b)[Math.floor(TIMINGS / 2)]!;
  return { emptyNewest: median('emptyNewest'), preloadedNewest: median('preloadedNewest'), preloadedOld: median('preloadedOld') };
}

function printFigures(figures: Figure[], scale: string): void {
  console.log(`\nSummary (${scale}): preloaded / empty, flagged beyond ${LIMIT}`);
  console.log(`  ${'figure'.padEnd(42)} ${'empty'.padStart(9)} ${'preloaded'.padStart(10)} ${'ratio'.padStart(6)}`);
  let flagged = 0;
  for (const f of figures) {
    const ratio = f.preloaded / f.empty;
    // Throughput falls when it degrades: its ratio is judged the other way round.
    const worse = f.higherIsBetter ? f.empty / f.preloaded : ratio;
    const flag = worse > LIMIT ? '  ← beyond 10 %' : '';
    if (flag) flagged += 1;
    console.log(`  ${f.name.padEnd(42)} ${fixed(f.empty, 1).padStart(9)} ${fixed(f.preloaded, 1).padStart(10)} ${fixed(ratio, 2).padStart(6)}${flag}`);
  }
  console.log(flagged ? `  ${flagged} figure(s) beyond 10 % of the empty database's` : '  every figure within 10 % of the empty database\'s');
}

/**
 * EXPLAIN ANALYZE of each hot-path statement on the preloaded database, in a transaction rolled back (some of
 * them write); prints the scans each uses, and any that reads rows in proportion to the history.
 */
async function explainHotPaths(db: TestDatabase): Promise<void> {
  const [sample] = await db.query<{ id: string }>(
    `SELECT "id" FROM "intake"."requests" WHERE "project_id" = $1 AND "component_name" = $2 AND "created_at" < now() - interval '30 days' ORDER BY random() LIMIT 1`,
    [BUSIEST_PROJECT, BUSIEST_COMPONENT],
  );
  const [expert] = await db.query<{ expert_id: string }>(`SELECT "expert_id" FROM "intake"."assignments" GROUP BY "expert_id" ORDER BY count(*) DESC LIMIT 1`);
  const sizes = new Map(
    (await db.query<{ name: string; n: string }>(`SELECT n.nspname || '.' || c.relname AS "name", c.reltuples::bigint AS "n" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'`)).map((r) => [r.name, Number(r.n)]),
  );
  const statements = hotPathStatements({ requestId: sample?.id ?? '00000000-0000-4000-8000-000000000000', projectId: BUSIEST_PROJECT, componentName: BUSIEST_COMPONENT, expertId: expert?.expert_id ?? 'security_expert_human' });
  console.log(`\nEXPLAIN ANALYZE of ${statements.length} hot-path statements on the preloaded database (busiest project ${BUSIEST_PROJECT}, expert ${expert?.expert_id ?? '–'})`);
  const found: string[] = [];
  for (const statement of statements) {
    await db.query('BEGIN');
    try {
      const [row] = await db.query<{ 'QUERY PLAN': Array<{ Plan: Parameters<typeof judgePlan>[0]; 'Execution Time': number }> }>(`EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ${statement.sql}`, statement.params);
      const plan = row!['QUERY PLAN'][0]!;
      const verdict = judgePlan(plan.Plan, (table) => sizes.get(table) ?? 0, 10_000, Math.max(1_000, statement.pageSize ?? 0));
      const problems = verdict.problems.length ? `  ← ${verdict.problems.join('; ')}` : '';
      console.log(`  ${statement.name.padEnd(44)} ${fixed(plan['Execution Time'], 2).padStart(8)} ms, reads ≤ ${verdict.rowsRead.toLocaleString('en-US')} rows: ${verdict.scans.join(', ') || 'no table'}${problems}`);
      if (problems) found.push(statement.name);
    } finally {
      await db.query('ROLLBACK');
    }
  }
  console.log(found.length ? `  ${found.length} statement(s) whose cost grows with history: ${found.join('; ')}` : '  every statement finds its rows through an index');
}

/** Wrong command-line arguments: said without a stack trace. */
class UsageError extends Error {}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:history: ${error instanceof UsageError ? error.message : ((error as Error).stack ?? error)}`);
    process.exit(1);
  },
);
