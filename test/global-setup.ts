import { execFileSync } from 'node:child_process';

/**
 * Integration tests use the Postgres and NATS named by DATABASE_URL / NATS_URL (or the local defaults).
 * On a developer machine with Docker and neither variable set, Testcontainers starts both instead.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env['DATABASE_URL'] || process.env['NATS_URL'] || !dockerEngineRunning()) return;
  const { GenericContainer, Wait } = await import('testcontainers');
  const postgres = await new GenericContainer('postgres:15-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  const nats = await new GenericContainer('nats:2.10-alpine').withCommand(['-js']).withExposedPorts(4222).withWaitStrategy(Wait.forLogMessage(/Server is ready/)).start();
  process.env['DATABASE_URL'] = `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`;
  process.env['NATS_URL'] = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
  (globalThis as { agfContainers?: unknown[] }).agfContainers = [postgres, nats];
}

function dockerEngineRunning(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
