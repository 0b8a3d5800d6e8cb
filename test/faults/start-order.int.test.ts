import { OwnNatsServer, OwnPostgres, randomNamespace, ServiceProcess } from '@agf/testing';

jest.setTimeout(120_000);

/** Services start in any order: with NATS and Postgres both down they wait (not ready), never crash. */
describe('a service started before its dependencies', () => {
  let nats: OwnNatsServer;
  let postgres: OwnPostgres;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    nats = await OwnNatsServer.start();
    postgres = await OwnPostgres.start();
  });

  afterAll(async () => {
    await service?.stop();
    await nats?.stop();
    await postgres?.stop();
  });

  it('waits for NATS and Postgres and becomes ready once they are up', async () => {
    // Both go down for 8 s; the service is started in that window.
    const natsBack = nats.restart(8000);
    const postgresBack = postgres.restart(8000);
    const startedAt = Date.now();
    // ServiceProcess.start rejects if the process exits, so resolving proves it waited instead of crashing.
    const starting = ServiceProcess.start('risk', { databaseUrl: postgres.url, namespace: randomNamespace().prefix, env: { NATS_URL: nats.url } });
    await Promise.all([natsBack, postgresBack]);
    service = await starting;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(7000);
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { nats: { status: 'up' }, postgres: { status: 'up' } } });
  });
});
