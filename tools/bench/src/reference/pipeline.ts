import { randomUUIDv7 } from 'node:crypto';
import { createServer } from 'node:http';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Pool, type PoolClient } from 'pg';
import { connectNats } from '@agf/messaging/nats-connection';

/**
 * The reference pipeline: what the hardware can do for a tier-0 request without AGF's framework. Plain
 * Node, `pg` and the NATS client, making the same hops as AGF's automated path (intake → risk → coe →
 * decision): an HTTP ingress and two JetStream hop workers, each hop one outbox-style transaction
 * (insert state + outbox row, commit, publish, mark sent). AGF's figures are reported as ratios of these.
 *
 *   node pipeline.js ingress   (REF_PORT)
 *   node pipeline.js hop <n>   (consumes <prefix>.ref.hop<n>, publishes hop<n+1>, or the decision after the last)
 */
const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const PREFIX = env('REF_PREFIX');
const STREAM = env('REF_STREAM');
const LAST_HOP = Number(env('REF_HOPS', '2'));
const CONCURRENCY = Number(env('REF_CONCURRENCY', '32'));
const ROLE = process.argv[2] === 'ingress' ? 'ref-ingress' : `ref-hop${process.argv[3] ?? ''}`;
const pool = new Pool({ connectionString: env('DATABASE_URL'), max: Number(env('REF_POOL_SIZE', '10')), application_name: ROLE });

async function outboxStep(id: string, hop: number, body: string, subject: string): Promise<string> {
  const eventId = randomUUIDv7();
  const client: PoolClient = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO "bench_reference"."state" ("id", "hop", "body") VALUES ($1, $2, $3)`, [id, hop, body]);
    await client.query(`INSERT INTO "bench_reference"."outbox" ("event_id", "subject", "payload") VALUES ($1, $2, $3)`, [eventId, subject, body]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return eventId;
}

async function main(): Promise<void> {
  // The same client, options and all, as AGF's services (and only that module of libs/messaging).
  const nc = await connectNats(env('NATS_URL', 'nats://127.0.0.1:4222'), ROLE);
  const js = jetstream(nc);
  const publishAndMark = async (eventId: string, subject: string, payload: string): Promise<void> => {
    await js.publish(subject, payload, { msgID: eventId });
    await pool.query(`UPDATE "bench_reference"."outbox" SET "sent_at" = now() WHERE "event_id" = $1`, [eventId]);
  };

  if (process.argv[2] === 'ingress') {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          try {
            const body = Buffer.concat(chunks).toString();
            const parsed = JSON.parse(body) as { projectId?: unknown };
            if (typeof parsed.projectId !== 'string') throw new Error('projectId required');
            const id = randomUUIDv7();
            const payload = JSON.stringify({ data: { requestId: id, request: parsed } });
            const subject = `${PREFIX}.ref.hop1`;
            const eventId = await outboxStep(id, 0, payload, subject);
            res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'received' }));
            await publishAndMark(eventId, subject, payload);
          } catch (error) {
            if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (error as Error).message }));
          }
        })();
      });
    });
    server.keepAliveTimeout = 65_000;
    server.listen(Number(env('REF_PORT')), '127.0.0.1');
    return;
  }

  const hop = Number(process.argv[3]);
  const durable = `ref_hop${hop}`;
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(STREAM, { durable_name: durable, ack_policy: AckPolicy.Explicit, filter_subject: `${PREFIX}.ref.hop${hop}`, max_ack_pending: CONCURRENCY * 4 }).catch(() => undefined);
  const consumer = await js.consumers.get(STREAM, durable);
  const messages = await consumer.consume({ max_messages: CONCURRENCY * 2 });
  let active = 0;
  const waiting: Array<() => void> = [];
  const handle = async (msg: JsMsg): Promise<void> => {
    try {
      const text = msg.string();
      const { data } = JSON.parse(text) as { data: { requestId: string } };
      const next = hop === LAST_HOP ? `${PREFIX}.ref.decision.made` : `${PREFIX}.ref.hop${hop + 1}`;
      const payload = hop === LAST_HOP ? JSON.stringify({ data: { requestId: data.requestId, outcome: 'PROCEED_STANDARD' } }) : text;
      const eventId = await outboxStep(randomUUIDv7(), hop, payload, next);
      await publishAndMark(eventId, next, payload);
      msg.ack();
    } catch (error) {
      console.error(`hop ${hop}: ${(error as Error).message}`);
      msg.nak(200);
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
  for await (const msg of messages) {
    // Bounded concurrency, like AGF's consumers: never one at a time, never unbounded.
    if (active >= CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    void handle(msg);
  }
}

main().catch((error: unknown) => {
  console.error(`reference pipeline: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
