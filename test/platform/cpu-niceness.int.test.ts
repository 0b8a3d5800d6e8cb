import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { createTestDatabase, ServiceProcess, type TestDatabase, TestNats } from '@agf/testing';

jest.setTimeout(120_000);

/** The niceness of every thread of a running service (Linux keeps one per thread). */
function nicenessOfThreads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((thread) => getPriority(Number(thread)));
}

/**
 * Bookkeeping services yield the CPU to the decision path where they share a host: a real service process,
 * read back from the kernel.
 */
describe('CPU niceness of the service processes', () => {
  let db: TestDatabase;
  let nats: TestNats;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
  });

  afterAll(async () => {
    await Promise.all(running.map((service) => service.stop()));
    await nats.cleanup();
    await db.drop();
  });

  const start = async (name: 'learning' | 'sla' | 'risk', env: Record<string, string> = {}) => {
    const service = await ServiceProcess.start(name, { databaseUrl: db.url, namespace: nats.namespace.prefix, env, ownNiceness: true });
    running.push(service);
    return service;
  };

  it('runs a bookkeeping service (learning) at niceness 10 on every thread; the decision path (risk) and sla as started', async () => {
    const learning = await start('learning');
    const risk = await start('risk');
    const sla = await start('sla');
    expect(new Set(nicenessOfThreads(learning.pid!))).toEqual(new Set([10]));
    expect(new Set(nicenessOfThreads(risk.pid!))).toEqual(new Set([0]));
    expect(new Set(nicenessOfThreads(sla.pid!))).toEqual(new Set([0]));
  });

  it('takes AGF_CPU_NICENESS instead', async () => {
    const risk = await start('risk', { AGF_CPU_NICENESS: '5' });
    expect(new Set(nicenessOfThreads(risk.pid!))).toEqual(new Set([5]));
  });
});
