import { Client } from 'pg';
import { eventually } from '@agf/testing';
import { outcome, Probe } from './probe';

jest.setTimeout(60_000);

/**
 * Postgres refusing connections (restarting, or out of them) says nothing about a message: the transport holds it and tries
 * again until the database answers, instead of spending its deliveries (3 here, 200 ms apart) and
 * dead-lettering it, which left requests undecided until someone replayed the dead letters.
 */
describe('JetStream transport through a database that refuses connections (real NATS and Postgres)', () => {
  let probe: Probe;
  let admin: Client;

  beforeAll(async () => {
    probe = await Probe.start({ concurrency: 2 });
    const url = new URL(probe.db.url);
    url.pathname = '/postgres';
    admin = new Client({ connectionString: url.toString() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.query(`ALTER DATABASE "${probe.db.name}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin.end();
    await probe.stop();
  });

  it('holds a message while the database refuses connections, and handles it once when it answers again', async () => {
    // No new connection (as while Postgres restarts), and the service's open ones terminated (57P01).
    // The service's own connections, not the one this test reads its effects with.
    const [{ pid: testConnection }] = await probe.db.query<{ pid: number }>('SELECT pg_backend_pid() AS "pid"');
    await admin.query(`ALTER DATABASE "${probe.db.name}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend("pid") FROM pg_stat_activity WHERE "datname" = $1 AND "pid" <> $2`, [probe.db.name, testConnection]);
    const event = outcome('through-outage');
    await probe.nats.publish('agf.v1.deployment.outcome.through-outage', JSON.stringify(event));
    // Well past the three deliveries the consumer allows (200 + 400 ms of backoff).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(probe.results.filter((r) => r.result === 'dead_lettered' || r.result === 'retried')).toEqual([]);
    await admin.query(`ALTER DATABASE "${probe.db.name}" ALLOW_CONNECTIONS true`);

    await eventually(async () => expect(await probe.effects('through-outage')).toBe(1), 20_000);
    expect(await probe.nats.read('AGF_DLQ')).toEqual([]);
    const info = await probe.nats.jsm.consumers.info(probe.nats.namespace.stream('AGF_DEPLOYMENT'), 'probe');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });
});
