import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createTestDatabase, eventually, OwnNatsCluster, randomNamespace, ServiceProcess, type ServiceName, type TestDatabase, testIdentity } from '@agf/testing';
import { FaultDriver, sleep } from './fault-driver';
import { settleAndReport } from './fault-report';

/**
 * AGF on a 3-node JetStream cluster with every stream at 3 replicas (`AGF_STREAM_REPLICAS=3`): under load, the
 * node leading the busiest streams is SIGKILLed and restarted. Every accepted request must still be decided
 * exactly once.
 */
const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];

jest.setTimeout(300_000);

describe('a 3-node NATS cluster loses a node under load: nothing accepted is lost or decided twice', () => {
  let cluster: OwnNatsCluster;
  let db: TestDatabase;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const namespace = randomNamespace();
  const services = new Map<ServiceName, ServiceProcess>();
  const log = (line: string) => process.stdout.write(`[cluster] ${line}\n`);

  beforeAll(async () => {
    cluster = await OwnNatsCluster.start(3);
    db = await createTestDatabase();
    nc = await connect({ servers: cluster.url.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    // JetStream answers only once the nodes have elected a meta leader: no API check until the loop below.
    jsm = await jetstreamManager(nc, { checkAPI: false });
    await eventually(async () => expect((await jsm.getAccountInfo()).streams).toBeGreaterThanOrEqual(0), 30_000, 500);
    const env = {
      NATS_URL: cluster.url,
      AGF_STREAM_REPLICAS: '3',
      AGF_CONFIG: join(__dirname, '..', 'fixtures', 'agf-config.governance.yaml'),
      AGF_ACK_WAIT_MS: '5000',
      AGF_MAX_DELIVER: '20',
    };
    for (const name of SERVICES) services.set(name, await ServiceProcess.start(name, { databaseUrl: db.url, namespace: namespace.prefix, env }));
  });

  afterAll(async () => {
    await Promise.all([...services.values()].map((s) => s.stop()));
    await nc?.close().catch(() => undefined);
    await cluster?.stop();
    await db?.drop();
  });

  it('keeps every stream at three replicas and decides every request once through the loss of the leader', async () => {
    for (const stream of ['AGF_DEPLOYMENT', 'AGF_REVIEW', 'AGF_DECISION'] as const) {
      expect((await jsm.streams.info(namespace.stream(stream))).config.num_replicas).toBe(3);
    }
    const identity = await testIdentity();
    const query = <T>(sql: string): Promise<T[]> => db.query<T>(sql);
    const driver = new FaultDriver(() => services.get('intake')!.url, jetstream(nc), namespace, query, log, identity);
    driver.start(5);
    await sleep(4000);

    // The busiest stream: every request passes through review assignments and answers.
    const leader = (await jsm.streams.info(namespace.stream('AGF_REVIEW'))).cluster?.leader;
    expect(leader).toBeDefined();
    const decisionLeader = (await jsm.streams.info(namespace.stream('AGF_DECISION'))).cluster?.leader;
    log(`SIGKILL ${leader} (leader of AGF_REVIEW; AGF_DECISION is led by ${decisionLeader}), restart after 3 s`);
    await cluster.node(leader!).restart(3000);
    await sleep(6000);
    await driver.stopSubmitting();

    const report = await settleAndReport({
      driver,
      nc,
      jsm,
      namespace,
      query,
      identity,
      complianceUrl: () => services.get('compliance')!.url,
      schemas: SERVICES,
      decisionTimeoutMs: 180_000,
      log,
    });
    expect(report).toMatchObject({ lost: 0, duplicated: 0, deadLettered: 0, unexpected5xx: 0, credentialRefused: 0, auditValid: true, idempotencyKeysWithoutRequest: 0 });
    expect(report.accepted).toBe(report.expected);
    expect(report.accepted).toBeGreaterThan(0);
    // The killed node came back and caught up: the streams are whole on all three again.
    await eventually(
      async () => {
        const info = await jsm.streams.info(namespace.stream('AGF_REVIEW'));
        expect(info.cluster?.replicas?.filter((r) => r.current).length).toBe(2);
      },
      60_000,
      1000,
    );
  });
});
