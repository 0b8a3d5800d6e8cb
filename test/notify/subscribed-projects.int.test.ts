import { randomUUID } from 'node:crypto';
import { aDecision } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, TestNats, testIdentity } from '@agf/testing';
import { HttpReceivers } from './receivers';

jest.setTimeout(120_000);

/**
 * With no route for an event (the repository's configuration has none), notify passes over the events of a
 * project without webhook subscriptions without a transaction: it knows the subscribed projects from the
 * table, LISTENing for its changes. What it must never do is pass over an event a subscriber asked for.
 */
describe('notify passes over events nobody subscribed to (real Postgres LISTEN/NOTIFY, NATS, HTTP)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let notify: ServiceProcess;
  let http: HttpReceivers;

  const decide = async (projectId: string) => {
    const requestId = randomUUID();
    const event = await nats.publishEvent('decision.made', aDecision({ requestId, projectId }), { correlationId: requestId, source: 'coe' });
    return { requestId, eventId: event.id };
  };
  /** Once notify's consumers took every event: whether an event left an inbox entry (it took a transaction). */
  const tookTransaction = async (eventId: string) => {
    await eventually(async () => expect(await nats.consumerBacklog()).toEqual([]));
    return (await db.query(`SELECT 1 FROM "notify"."inbox" WHERE "event_id" = $1`, [eventId])).length === 1;
  };
  const subscribe = async (projectId: string) => {
    const response = await fetch(`${notify.url}/v1/notifications/subscriptions`, {
      method: 'POST',
      headers: await (await testIdentity()).headers({ sub: 'pipeline-bot', roles: ['submitter'], projects: [projectId] }),
      body: JSON.stringify({ projectId, url: http.url(`/${projectId}`, 'localhost'), secret: `secret-of-${randomUUID()}`, events: ['decision'] }),
    });
    expect(response.status).toBe(201);
  };
  /** A subscription stored by another writer (another replica, an operator): this process hears of it only from Postgres. */
  const subscribeElsewhere = (projectId: string) =>
    db.query(`INSERT INTO "notify"."subscriptions" ("id", "project_id", "url", "secret", "events", "created_by") VALUES ($1, $2, $3, 'another-replicas-secret', '{decision}', 'other-replica')`, [
      randomUUID(),
      projectId,
      http.url(`/${projectId}`, 'localhost'),
    ]);
  const delivered = (projectId: string, requestId: string, timeoutMs = 10_000) =>
    eventually(() => expect(http.at(`/${projectId}`, requestId)).toHaveLength(1), timeoutMs);

  beforeAll(async () => {
    [db, nats, http] = await Promise.all([createTestDatabase(), TestNats.connect(), HttpReceivers.start()]);
    notify = await ServiceProcess.start('notify', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_NOTIFY_ALLOWED_HOSTS: 'localhost', AGF_NOTIFY_POLL_MS: '100' } });
    // Listening once the view is read: a first event of an unsubscribed project goes without a transaction.
    await eventually(async () => expect(await tookTransaction((await decide('warm-up')).eventId)).toBe(false));
  });

  afterAll(async () => {
    await notify?.stop();
    await Promise.all([nats?.cleanup(), http?.stop()]);
    await db?.drop();
  });

  it('takes no transaction for a project without subscriptions, and delivers to one subscribed here at once', async () => {
    expect(await tookTransaction((await decide('quiet')).eventId)).toBe(false);
    await subscribe('loud');
    // Published right after the 201: the subscription must already count.
    const { requestId, eventId } = await decide('loud');
    await delivered('loud', requestId);
    expect(await tookTransaction(eventId)).toBe(true);
    expect(await tookTransaction((await decide('quiet')).eventId)).toBe(false);
  });

  it('hears of a subscription another writer stored, and of one stored while its connection was cut', async () => {
    await subscribeElsewhere('elsewhere');
    // Announced moments after its commit: an event decided in those moments may still be passed over.
    await eventually(async () => {
      const { requestId } = await decide('elsewhere');
      await delivered('elsewhere', requestId, 1_000);
    }, 10_000);

    // The listening connection is cut; a subscription stored meanwhile is never announced to it.
    const [listener] = await db.query<{ pid: number }>(`SELECT "pid" FROM pg_stat_activity WHERE "datname" = current_database() AND "query" LIKE 'SELECT DISTINCT "project_id"%'`);
    await db.query(`SELECT pg_terminate_backend($1)`, [listener!.pid]);
    await eventually(() => expect(notify.output.join('')).toMatch(/subscriptions listener lost/));
    await subscribeElsewhere('unannounced');
    const { requestId, eventId } = await decide('unannounced');
    await delivered('unannounced', requestId);
    expect(await tookTransaction(eventId)).toBe(true);
    // Back and reading the table again: the unannounced subscription counts, an unsubscribed project goes without a transaction.
    await eventually(async () => expect(await tookTransaction((await decide('quiet')).eventId)).toBe(false), 10_000);
    const again = await decide('unannounced');
    await delivered('unannounced', again.requestId);
  });
});
