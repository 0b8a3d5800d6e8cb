import { join } from 'node:path';
import { STREAM_NAMES } from '@agf/contracts';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Pool } from 'pg';
import { eventually, OwnNatsServer, OwnPostgres, randomNamespace, ServiceProcess, type ServiceName, testIdentity } from '@agf/testing';
import { FaultDriver, sleep } from './fault-driver';

/**
 * Zero loss under faults. `npm run test:faults` (AGF_FAULTS=full) kills every service, restarts NATS and
 * Postgres and runs a second replica; the short form inside `npm test` does one of each kind.
 */
const FULL = process.env['AGF_FAULTS'] === 'full';
const RATE = FULL ? 6 : 5;
const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];
const SCHEMAS = SERVICES;

jest.setTimeout(FULL ? 900_000 : 300_000);

describe(`fault suite (${FULL ? 'full' : 'short'}): nothing accepted is lost or decided twice`, () => {
  let natsServer: OwnNatsServer;
  let postgres: OwnPostgres;
  let pool: Pool;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const namespace = randomNamespace();
  const services = new Map<ServiceName, ServiceProcess>();
  /** Replicas beyond the first process of a service. */
  const replicas: ServiceProcess[] = [];
  let env: Record<string, string>;
  const log = (line: string) => process.stdout.write(`[faults] ${line}\n`);

  beforeAll(async () => {
    natsServer = await OwnNatsServer.start();
    postgres = await OwnPostgres.start();
    env = {
      NATS_URL: natsServer.url,
      AGF_CONFIG: join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml'),
      AGF_ACK_WAIT_MS: '5000',
      AGF_MAX_DELIVER: '20',
    };
    // intake first so it creates the database; the others then start in parallel and wait for what they need.
    for (const name of SERVICES) {
      services.set(name, await ServiceProcess.start(name, { databaseUrl: postgres.url, namespace: namespace.prefix, env }));
    }
    pool = new Pool({ connectionString: postgres.url, max: 4 });
    pool.on('error', () => undefined); // a Postgres restart kills idle clients; the pool replaces them
    nc = await connect({ servers: natsServer.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await Promise.all([...services.values(), ...replicas].map((s) => s.stop()));
    await nc?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await natsServer?.stop();
    await postgres?.stop();
  });

  const query = async <T>(sql: string): Promise<T[]> => (await pool.query(sql)).rows as T[];

  it('decides every accepted request exactly once through crashes, restarts and replicas', async () => {
    const identity = await testIdentity();
    const driver = new FaultDriver(() => services.get('intake')!.url, jetstream(nc), namespace, query, log, identity);
    driver.start(RATE);
    await sleep(3000);

    const victims: ServiceName[] = FULL ? SERVICES : ['coe', 'intake'];
    for (const name of victims) {
      log(`SIGKILL ${name} mid-flight`);
      const service = services.get(name)!;
      await service.kill();
      await sleep(1500);
      await service.restart();
      await sleep(FULL ? 3000 : 2000);
    }

    log('restarting nats-server');
    await natsServer.restart(2000);
    await sleep(4000);

    log('restarting Postgres');
    await postgres.restart(2000);
    await sleep(4000);

    log('second coe replica, then SIGKILL the first');
    const coe = services.get('coe')!;
    const replica = await ServiceProcess.start('coe', { databaseUrl: postgres.url, namespace: namespace.prefix, env });
    replicas.push(replica);
    await sleep(3000);
    await coe.kill();
    await sleep(3000);
    await driver.stopSubmitting();
    await coe.restart(); // the killed replica comes back, as a process manager would restart it

    const expected = driver.counts.httpAccepted + driver.counts.natsPublished;
    log(`submitted: ${JSON.stringify(driver.counts)}; waiting for every decision`);

    const decisions = await eventually(
      async () => {
        const accepted = await query<{ id: string }>(`SELECT "id" FROM "intake"."requests"`);
        const perRequest = await decisionsPerRequest(nc, namespace.stream('AGF_DECISION'));
        const missing = accepted.filter((r) => !perRequest.has(r.id));
        expect({ accepted: accepted.length, missing: missing.length }).toEqual({ accepted: expected, missing: 0 });
        return { accepted, perRequest };
      },
      FULL ? 300_000 : 180_000,
      2000,
    );
    driver.reviewing = false;
    await driver.stop();

    const duplicated = [...decisions.perRequest.values()].filter((n) => n > 1).length;
    const unknown = [...decisions.perRequest.keys()].filter((id) => !decisions.accepted.some((r) => r.id === id)).length;
    const lostHttp = [...driver.httpIds].filter((id) => !decisions.accepted.some((r) => r.id === id)).length;

    // Everything settles: outboxes drained, consumers have nothing pending, the audit chain holds.
    await eventually(
      async () => {
        for (const schema of SCHEMAS) {
          const [row] = await query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."outbox" WHERE "sent_at" IS NULL`);
          expect({ schema, unsent: Number(row!.n) }).toEqual({ schema, unsent: 0 });
        }
        for (const stream of STREAM_NAMES) {
          for await (const consumer of jsm.consumers.list(namespace.stream(stream))) {
            // The test's own ordered readers are ephemeral and not AGF's business; every service consumer is durable.
            if (!consumer.config.durable_name) continue;
            expect({ consumer: `${stream}/${consumer.name}`, pending: consumer.num_pending + consumer.num_ack_pending }).toEqual({
              consumer: `${stream}/${consumer.name}`,
              pending: 0,
            });
          }
        }
      },
      120_000,
      1000,
    );
    const auditor = await identity.headers({ sub: 'fault-auditor', roles: ['auditor'] });
    const audit = (await (await fetch(`${services.get('compliance')!.url}/v1/audit/verify`, { headers: auditor })).json()) as { valid: boolean; entries: number };
    const deadLetters = (await jsm.streams.info(namespace.stream('AGF_DLQ')).catch(() => undefined))?.state.messages ?? 0;
    const partialKeys = await query<{ n: string }>(
      `SELECT count(*) AS n FROM "intake"."idempotency_keys" k LEFT JOIN "intake"."requests" r ON r."id" = k."request_id" WHERE r."id" IS NULL`,
    );

    const report = {
      accepted: decisions.accepted.length,
      decided: decisions.perRequest.size - unknown,
      lost: decisions.accepted.length - (decisions.perRequest.size - unknown) + lostHttp,
      duplicated,
      deadLettered: deadLetters,
      refused: driver.counts.refused,
      unexpected5xx: driver.counts.unexpected5xx,
      credentialRefused: driver.counts.credentialRefused,
      humanReviews: driver.counts.reviewsPosted,
      auditEntries: audit.entries,
      auditValid: audit.valid,
    };
    log(`result: ${JSON.stringify(report)}`);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, deadLettered: 0, unexpected5xx: 0, credentialRefused: 0, auditValid: true });
    expect(report.accepted).toBe(expected);
    expect(report.humanReviews).toBeGreaterThan(0);
    expect(Number(partialKeys[0]!.n)).toBe(0);
  });
});

/** decision.made messages per request id, read from the whole decision stream. */
async function decisionsPerRequest(nc: NatsConnection, stream: string): Promise<Map<string, number>> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const counts = new Map<string, number>();
  const info = await jsm.streams.info(stream).catch(() => undefined);
  if (!info?.state.messages) return counts;
  const consumer = await js.consumers.get(stream);
  const last = info.state.last_seq;
  for (;;) {
    const msg = await consumer.next({ expires: 2000 });
    if (!msg) break;
    const event = msg.json<{ data: { requestId: string } }>();
    counts.set(event.data.requestId, (counts.get(event.data.requestId) ?? 0) + 1);
    if (msg.seq >= last) break;
  }
  return counts;
}
