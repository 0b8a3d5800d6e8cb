import { parseArgs } from 'node:util';
import { queryThenCommit } from '@agf/messaging';
import { createServiceDataSource } from '@agf/platform';
import { createTestDatabase } from '@agf/testing';
import { backendCpuPer, backendTicks } from './backend-cpu';

/**
 * `npm run bench:transactions`: what sending a transaction's BEGIN with its first statement and its COMMIT
 * with its last saves. Runs the smallest message transaction (a state insert, then the inbox claim marked to
 * commit) through a service DataSource with pg's pipeline mode off (each statement waits for the one before:
 * four round trips) and on (two), alternating, and prints per transaction the wall time, this process's CPU
 * time and the Postgres backend's (from /proc, so only when Postgres runs on this host).
 */
const HELP = `usage: npm run bench:transactions -- [--transactions 4000]`;

async function measure(url: string, pipeline: boolean, round: number, transactions: number): Promise<void> {
  const dataSource = createServiceDataSource({ url, schema: 'public', poolSize: 1, migrations: [], applicationName: 'agf-bench' });
  (dataSource.options.extra as { pipeline: boolean }).pipeline = pipeline;
  await dataSource.initialize();
  try {
    const [{ pid }] = (await dataSource.query('SELECT pg_backend_pid() AS "pid"')) as Array<{ pid: number }>;
    const label = `${pipeline ? 'pipelined' : 'sequential'}${round}`;
    const ticksBefore = backendTicks(pid);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < transactions; i += 1) {
      await dataSource.transaction(async (manager) => {
        await manager.query(`INSERT INTO "public"."state" ("id", "n") VALUES ($1, $2)`, [`${label}-${i}`, i]);
        await queryThenCommit(manager, `INSERT INTO "public"."inbox" ("consumer", "event_id") VALUES ($1, $2)`, ['bench', `${label}-${i}`]);
      });
    }
    const wallUs = ((performance.now() - started) * 1000) / transactions;
    const cpu = process.cpuUsage(cpuBefore);
    const ticksAfter = backendTicks(pid);
    const backend = backendCpuPer(ticksBefore, ticksAfter, transactions);
    console.log(`${label.padEnd(11)} ${transactions} transactions: ${wallUs.toFixed(0)} µs wall, client CPU ${((cpu.user + cpu.system) / transactions).toFixed(0)} µs, backend CPU ${backend} per transaction`);
  } finally {
    await dataSource.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { transactions: { type: 'string', default: '4000' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) return console.log(HELP);
  const transactions = Number(values.transactions);
  if (!(transactions >= 1)) throw new Error(`bad arguments\n${HELP}`);

  const db = await createTestDatabase();
  try {
    const setup = createServiceDataSource({ url: db.url, schema: 'public', poolSize: 1, migrations: [], applicationName: 'agf-bench' });
    await setup.initialize();
    await setup.query(`CREATE TABLE "public"."state" ("id" text PRIMARY KEY, "n" int NOT NULL)`);
    await setup.query(`CREATE TABLE "public"."inbox" ("consumer" text, "event_id" text, "processed_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("consumer", "event_id"))`);
    await setup.destroy();
    // Twice each, alternating, so that a warm-up or a neighbour's burst does not favour one side.
    for (const round of [1, 2]) {
      await measure(db.url, false, round, transactions);
      await measure(db.url, true, round, transactions);
    }
  } finally {
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? error);
  process.exit(1);
});
