import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Pool } from 'pg';
import { OwnNatsServer, OwnPostgres, randomNamespace, ServiceProcess, type ServiceName, testIdentity } from '@agf/testing';
import { FaultDriver, sleep } from './fault-driver';
import { settleAndReport } from './fault-report';

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

    const report = await settleAndReport({
      driver,
      nc,
      jsm,
      namespace,
      query,
      identity,
      complianceUrl: () => services.get('compliance')!.url,
      schemas: SCHEMAS,
      decisionTimeoutMs: FULL ? 300_000 : 180_000,
      log,
    });
    expect(report).toMatchObject({ lost: 0, duplicated: 0, deadLettered: 0, unexpected5xx: 0, credentialRefused: 0, auditValid: true, idempotencyKeysWithoutRequest: 0 });
    expect(report.accepted).toBe(report.expected);
    expect(report.humanReviews).toBeGreaterThan(0);
  });
});
