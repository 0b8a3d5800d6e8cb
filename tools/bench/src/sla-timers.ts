import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { natsUrl, ServiceProcess } from '@agf/testing';
import { benchServers } from './cleanup';
import { fixed, summarise } from './stats';

/**
 * `npm run bench:sla`: 100,000 open timers, due over a window of a few tens of seconds, must each fire
 * within 1 s of their due time, exactly once, with two SLA replicas claiming concurrently. The timers are
 * written straight into `sla.timers` (what `review.assigned` would store) so that the figure is the firing
 * path alone; lag is measured from each timer's due time to its event arriving at a NATS subscriber.
 */
const HELP = `usage: npm run bench:sla -- [--timers 100000] [--window 30] [--replicas 2]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      timers: { type: 'string', default: '100000' },
      window: { type: 'string', default: '30' },
      replicas: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const total = Number(values.timers);
  const windowSeconds = Number(values.window);
  const replicas = Number(values.replicas);
  if (!(total > 0 && total % 2 === 0 && windowSeconds > 0 && replicas >= 1)) throw new Error(`bad arguments (timers must be even)\n${HELP}`);

  const { cleanup, db, nats } = await benchServers('bench:sla');
  const services: ServiceProcess[] = [];
  cleanup.add(() => Promise.all(services.map((s) => s.stop())));
  try {
    for (let i = 0; i < replicas; i += 1) services.push(await ServiceProcess.start('sla', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { LOG_LEVEL: 'warn' } }));

    const nc = await connect({ servers: natsUrl() });
    const lags: number[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    const subscription = nc.subscribe(nats.namespace.subject('agf.v1.sla.>'), {
      callback: (_error, msg) => {
        const arrived = Date.now();
        const event = msg.json<{ id: string; data: { dueAt: string } }>();
        if (seen.has(event.id)) {
          duplicates += 1;
          return;
        }
        seen.add(event.id);
        lags.push(arrived - Date.parse(event.data.dueAt));
      },
    });
    await nc.flush();

    // Warning and breach timers of total/2 assignments; breaches due uniformly over the window, each warning 75 % into its SLA.
    const start = Date.now() + 15_000;
    const assignments = total / 2;
    console.log(`scheduling ${total.toLocaleString('en-US')} timers (${assignments.toLocaleString('en-US')} assignments), due from +15 s over ${windowSeconds} s, ${replicas} replica(s)`);
    await db.query(
      `INSERT INTO "sla"."timers" ("assignment_id", "kind", "request_id", "project_id", "expert_id", "tier_level", "assigned_at", "sla_due_at", "due_at", "fraction")
       SELECT a.id, k.kind, gen_random_uuid(), 'bench-sla', 'sre_human', 1, a.assigned, a.breach,
              CASE WHEN k.kind = 'breached' THEN a.breach ELSE a.assigned + (a.breach - a.assigned) * 0.75 END,
              CASE WHEN k.kind = 'breached' THEN 1 ELSE 0.75 END
         FROM (SELECT gen_random_uuid() AS id,
                      to_timestamp($1 / 1000.0) + (i * $2 / $3) * interval '1 millisecond' AS breach,
                      to_timestamp($1 / 1000.0) + (i * $2 / $3) * interval '1 millisecond' - interval '40 seconds' AS assigned
                 FROM generate_series(0, $3 - 1) AS i) AS a
        CROSS JOIN (VALUES ('warning'), ('breached')) AS k(kind)`,
      [start, windowSeconds * 1000, assignments],
    );
    const deadline = start + windowSeconds * 1000 + 60_000;
    while (seen.size < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    await new Promise((resolve) => setTimeout(resolve, 2000)); // late duplicates would show up here
    subscription.unsubscribe();
    await nc.close();

    const [open] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM "sla"."timers" WHERE "fired_at" IS NULL`);
    const lag = summarise(lags);
    const late = lags.filter((ms) => ms > 1000).length;
    console.log(`fired ${seen.size.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}, duplicates ${duplicates}, still open ${open?.n}`);
    console.log(`lag from due time to subscriber: p50 ${fixed(lag.p50, 0)} ms, p99 ${fixed(lag.p99, 0)} ms, max ${fixed(lag.max, 0)} ms; later than 1 s: ${late}`);
    console.log(seen.size === total && duplicates === 0 && late === 0 ? 'PASS: every timer fired once, within 1 s' : 'MISSED: see the figures above');
  } finally {
    await cleanup.run();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:sla: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
