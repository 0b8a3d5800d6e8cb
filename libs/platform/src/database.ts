import { createHash } from 'node:crypto';
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
    extra: { max: options.poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, Client: PreparingClient },
  });
}

/** Statements this process has sent to Postgres (transaction control included): `agf_db_statements_total`. */
export const statementsSent = { count: 0 };

/** Distinct statements a process prepares; beyond it, statements run unnamed (parsed and planned each time). */
const MAX_PREPARED_STATEMENTS = 200;
/** Larger parameter lists are multi-row inserts whose text varies with the row count: not worth keeping. */
const MAX_PREPARED_PARAMETERS = 20;
const statementNames = new Map<string, string>();

/** `SELECT *`, `SELECT t.*`, `RETURNING *`, `, *`: a result whose columns a migration can change. */
const STAR_RESULT = /(SELECT|RETURNING|,)\s*((\w+|"[^"]+")\.)?\*/i;

function statementName(text: string): string | undefined {
  // A prepared `SELECT *` / `RETURNING *` fails ("cached plan must not change result type") once a newer
  // replica's migration adds a column, so only statements with explicit result columns are prepared
  // (`count(*)` and a multiplication are fine).
  if (STAR_RESULT.test(text)) return undefined;
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_PREPARED_STATEMENTS) {
    name = `agf_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * A pg client that prepares each parameterised statement once per connection, named after its text, instead
 * of having Postgres parse and plan it on every execution: a backend spends about a quarter less CPU per
 * statement (`npm run bench:statements`, docs/benchmarks.md).
 */
class PreparingClient extends Client {
  override query(...args: unknown[]): never {
    statementsSent.count += 1;
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && values.length <= MAX_PREPARED_PARAMETERS) {
      const name = statementName(text);
      if (name) return (super.query as (...a: unknown[]) => never)({ name, text, values }, ...args.slice(2));
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }
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
