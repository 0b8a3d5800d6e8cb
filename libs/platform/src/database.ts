import { Client } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';

export interface ServiceDatabaseOptions {
  url: string;
  schema: string;
  poolSize: number;
  migrations: Array<new () => MigrationInterface>;
  applicationName: string;
}

/** One DataSource per service, bound to the schema it owns. `synchronize` is off: migrations only. */
export function createServiceDataSource(options: ServiceDatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: ['error'],
    applicationName: options.applicationName,
    extra: { max: options.poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 },
  });
}

/** Creates the database named in the URL if it is missing (what `npm start` and tests need on a fresh server). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) throw new Error(`DATABASE_URL: database name "${name}" must match [A-Za-z0-9_-]{1,63}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) {
      await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * Initialises the DataSource and applies pending migrations. Replicas starting together serialise on an
 * advisory lock, so a migration never runs twice.
 */
export async function initialiseDatabase(dataSource: DataSource, schema: string): Promise<void> {
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [`agf-migrations:${schema}`]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await dataSource.runMigrations({ transaction: 'all' });
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`agf-migrations:${schema}`]).catch(() => undefined);
    await runner.release();
  }
}

/** Waits for Postgres with backoff, logging while it waits, instead of crashing at start-up. */
export async function waitFor<T>(what: string, attempt: () => Promise<T>, log: (message: string) => void): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (tries === 1 || tries % 10 === 0) log(`waiting for ${what}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * tries)));
    }
  }
}
