import { parseArgs } from 'node:util';
import { createServiceDataSource } from '@agf/platform';
import { createTestDatabase } from '@agf/testing';
import { backendCpuPer, backendTicks } from './backend-cpu';
import { Client } from 'pg';

/**
 * `npm run bench:statements`: what preparing statements saves Postgres. Runs the same two statements a
 * read-model handler runs (an inbox claim, a status update) through a plain pg client (unnamed: parsed and
 * planned every time) and through a service DataSource (prepared once per connection), and prints wall time
 * and the backend's CPU time per statement (from /proc, so only when Postgres runs on this host).
 */
const HELP = `usage: npm run bench:statements -- [--statements 12000]`;

const CLAIM = `INSERT INTO "public"."inbox" ("consumer", "event_id") VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`;
const ADVANCE = `UPDATE "public"."requests" SET "status" = CASE WHEN "status_rank" < $3 THEN $2 ELSE "status" END, "status_rank" = GREATEST("status_rank", $3), "updated_at" = now() WHERE "id" = $1`;

type Run = (text: string, values: unknown[]) => Promise<unknown>;

async function measure(label: string, statements: number, run: Run): Promise<void> {
  const [{ pid }] = (await run('SELECT pg_backend_pid() AS "pid" WHERE $1::int = 1', [1])) as Array<{ pid: number }>;
  const ticksBefore = backendTicks(pid);
  const started = performance.now();
  for (let i = 0; i < statements / 2; i += 1) {
    const id = `${label}-${i}`;
    await run(CLAIM, ['bench', id]);
    await run(ADVANCE, [id, 'assessing', 1]);
  }
  const wallUs = ((performance.now() - started) * 1000) / statements;
  const ticksAfter = backendTicks(pid);
  const cpu = backendCpuPer(ticksBefore, ticksAfter, statements);
  console.log(`${label.padEnd(9)} ${statements} statements: ${wallUs.toFixed(0)} µs wall per statement, backend CPU ${cpu} per statement`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { statements: { type: 'string', default: '12000' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) return console.log(HELP);
  const statements = Number(values.statements);
  if (!(statements >= 2)) throw new Error(`bad arguments\n${HELP}`);

  const db = await createTestDatabase();
  const plain = new Client({ connectionString: db.url });
  const service = createServiceDataSource({ url: db.url, schema: 'public', poolSize: 1, migrations: [], applicationName: 'agf-bench' });
  try {
    await plain.connect();
    await service.initialize();
    await plain.query(`CREATE TABLE "public"."inbox" ("consumer" text, "event_id" text, "processed_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("consumer", "event_id"))`);
    await plain.query(`CREATE TABLE "public"."requests" ("id" text PRIMARY KEY, "status" text NOT NULL, "status_rank" int NOT NULL, "updated_at" timestamptz)`);
    // Twice each, alternating, so that a warm-up or a neighbour's burst does not favour one side.
    for (const round of [1, 2]) {
      await measure(`unnamed${round}`, statements, (text, params) => plain.query(text, params).then((r) => r.rows));
      await measure(`prepared${round}`, statements, (text, params) => service.query(text, params));
    }
  } finally {
    await plain.end().catch(() => undefined);
    if (service.isInitialized) await service.destroy();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? error);
  process.exit(1);
});
