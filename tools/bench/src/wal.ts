import { execSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { natsUrl, type ServiceName, testIdentity } from '@agf/testing';
import { runLoad, startAgf, waitForConsumersToDrain } from './agf-processes';
import { BENCH_REQUESTER } from './bench-request';
import { benchServers } from './cleanup';
import { fixed } from './stats';

/**
 * `npm run bench:wal`: what Postgres writes for one tier-0 decision, by table and index and by kind of record.
 * The seven services run on a fresh database; after a warm-up and a checkpoint, a fixed rate of requests is
 * offered and the bookkeeping left to drain, and the WAL between the two positions is read back with
 * `pg_walinspect` (a contrib module of Postgres 15). Every record a decision caused, not a sample: the
 * statements per decision of `npm run bench` say how often Postgres is asked, this says what each answer writes.
 */
const HELP = `usage: npm run bench:wal -- [--rate 40] [--duration 20] [--warmup 15] [--top 30]
env: DATABASE_URL (a superuser: it creates the pg_walinspect extension in the bench's database), NATS_URL`;

const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance', 'notify'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '40' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '15' },
      top: { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const [rate, duration, warmup, top] = [values.rate, values.duration, values.warmup, values.top].map(Number) as [number, number, number, number];
  const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  console.log(`commit ${commit}; ${rate} tier-0 requests/s for ${duration} s after ${warmup} s of warm-up`);
  const { cleanup, db, nats } = await benchServers('bench:wal');
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
    const services = await startAgf(db, nats, SERVICES);
    cleanup.add(() => Promise.all(services.map((s) => s.stop())));
    const authorization = await (await testIdentity()).bearer({ sub: BENCH_REQUESTER, roles: ['submitter'], projects: ['bench-project'] }, { expiresIn: 86_400 });
    const target = {
      submitUrls: [`${services[0]!.url}/v1/deployment-requests`],
      authorization,
      natsUrl: natsUrl(),
      decisionSubject: nats.namespace.subject('agf.v1.decision.made.>'),
    };
    await runLoad({ ...target, rate, durationSeconds: warmup, drainSeconds: 5, label: 'warm-up' });
    await waitForConsumersToDrain(nats, 120_000);
    // After a checkpoint, so that full-page images count what the decisions themselves cause.
    await db.query('CHECKPOINT');
    const [start] = await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn() AS lsn');
    const result = await runLoad({ ...target, rate, durationSeconds: duration, drainSeconds: 10, label: 'measured' });
    if (!(await waitForConsumersToDrain(nats, 120_000))) console.log('(the consumers were still behind 120 s after the step: their WAL is partly missing)');
    // pg_walinspect reads only WAL that is flushed; a commit flushes its own, so a moment later all of it is.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const [end] = await db.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn() AS lsn');
    const decided = Math.max(1, result.decided);
    console.log(`${result.decided} decided (p50 ${fixed(result.latencyMs.p50)} ms); per decision, from ${start!.lsn} to ${end!.lsn}:`);

    const kinds = await db.query<{ kind: string; records: string; bytes: string; full_pages: string }>(
      `SELECT "resource_manager" || ' ' || "record_type" AS "kind", count(*) AS "records", sum("record_length") AS "bytes",
              count(*) FILTER (WHERE "fpi_length" > 0) AS "full_pages"
         FROM pg_get_wal_records_info($1, $2) GROUP BY 1 ORDER BY sum("record_length") DESC`,
      [start!.lsn, end!.lsn],
    );
    const total = kinds.reduce((sum, k) => ({ records: sum.records + Number(k.records), bytes: sum.bytes + Number(k.bytes) }), { records: 0, bytes: 0 });
    console.log(`  all: ${fixed(total.records / decided)} records, ${fixed(total.bytes / 1024 / decided)} KiB`);
    console.log('\n  by kind of record:');
    for (const k of kinds.slice(0, 15)) {
      console.log(`    ${k.kind.padEnd(28)} ${fixed(Number(k.records) / decided).padStart(7)} records ${fixed(Number(k.bytes) / decided, 0).padStart(7)} bytes`);
    }
    // A block reference names the relation by its file node; the bench's database maps it back to schema and name.
    const relations = await db.query<{ relation: string; records: string; bytes: string }>(
      `SELECT coalesce((SELECT pn."nspname" || '.' || p."relname" || ' (TOAST)' FROM pg_class p JOIN pg_namespace pn ON pn."oid" = p."relnamespace" WHERE p."reltoastrelid" = c."oid"),
                       n."nspname" || '.' || c."relname", 'file ' || m[1]) AS "relation", count(*) AS "records", sum(r."record_length") AS "bytes"
         FROM pg_get_wal_records_info($1, $2) r
         JOIN LATERAL regexp_match(r."block_ref", 'rel \\d+/\\d+/(\\d+)') AS m ON true
         LEFT JOIN pg_class c ON c."relfilenode" = m[1]::oid
         LEFT JOIN pg_namespace n ON n."oid" = c."relnamespace"
        GROUP BY 1 ORDER BY sum(r."record_length") DESC LIMIT $3`,
      [start!.lsn, end!.lsn, top],
    );
    console.log(`\n  by table or index (the ${top} that write most; a record that changes several counts for the first):`);
    for (const r of relations) {
      console.log(`    ${r.relation.padEnd(52)} ${fixed(Number(r.records) / decided).padStart(7)} records ${fixed(Number(r.bytes) / decided, 0).padStart(7)} bytes`);
    }
  } finally {
    await cleanup.run();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
