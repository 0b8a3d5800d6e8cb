import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { COMMIT_WITH_NEXT_STATEMENT } from '@agf/messaging';
import { DataSource, type MigrationInterface } from 'typeorm';
import { withArrayLiterals } from './array-literal';

export interface ServiceDatabaseOptions {
  url: string;
  schema: string;
  poolSize: number;
  migrations: Array<new () => MigrationInterface>;
  applicationName: string;
}

/**
 * Settings of every service connection. Rows over 2 KB (outbox payloads, request rows, audit entries) are
 * compressed as they are written: lz4 takes about a quarter of the CPU of Postgres's default, pglz, for the
 * same size (docs/benchmarks.md, "What Postgres writes per decision"). Postgres 14 and later, built with lz4
 * as Debian's packages and the official images are.
 */
const SESSION_SETTINGS = '-c default_toast_compression=lz4';

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
    // `pipeline`: a transaction's BEGIN and COMMIT go out with statements (see `PreparingClient`).
    extra: { max: options.poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, Client: PreparingClient, pipeline: true, options: SESSION_SETTINGS },
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

type Query = (...args: unknown[]) => Promise<unknown>;
type PgResult = { command: string };

/** What TypeORM gets back for transaction control that needs no round trip of its own. */
const resultOf = (command: string): PgResult => ({ command, rowCount: null, rows: [], fields: [] }) as PgResult;

/**
 * A pg client (in pipeline mode) that saves round trips, planning and copies:
 * - It prepares each parameterised statement once per connection, named after its text, instead of having
 *   Postgres parse and plan it on every execution: a backend spends about a quarter less CPU per statement
 *   (`npm run bench:statements`, docs/benchmarks.md).
 * - It sends a transaction's `START TRANSACTION` with the transaction's first statement, and its `COMMIT` with
 *   the statement marked `COMMIT_WITH_NEXT_STATEMENT` (the inbox claim that ends every message transaction),
 *   each pair in one socket write: a transaction costs two round trips less. A statement's result waits for
 *   its BEGIN's, so an error of either reaches the caller; a transaction that ends before any statement sends
 *   nothing. After a failed statement, Postgres turns the COMMIT already sent into a rollback; the COMMIT that
 *   TypeORM then sends gets the result of the one already sent, and its ROLLBACK is answered here.
 * - It writes array parameters of strings as pg would, with the quoting of long JSON texts left to V8's JSON
 *   serializer (`arrayLiteral`).
 */
class PreparingClient extends Client {
  private beginDeferred = false;
  /** The COMMIT sent with a transaction's last statement, until TypeORM asks for it. */
  private commitSent: Promise<PgResult> | undefined;

  override query(...args: unknown[]): never {
    return this.pipelined(args) as never;
  }

  private pipelined(args: unknown[]): Promise<unknown> | undefined {
    const [text] = args;
    const plain = args.length <= 2 && args[1] === undefined;
    if (this.commitSent) {
      const commit = this.commitSent;
      this.commitSent = undefined;
      if (plain && text === 'COMMIT') return commit;
      if (plain && text === 'ROLLBACK') return Promise.resolve(resultOf('ROLLBACK'));
      return Promise.reject(new Error('a statement after the one that ended its transaction would run outside it'));
    }
    if (plain && text === 'START TRANSACTION' && !this.beginDeferred) {
      this.beginDeferred = true;
      return Promise.resolve(resultOf('BEGIN'));
    }
    const self = this as unknown as Record<symbol, unknown>;
    const commitAfter = self[COMMIT_WITH_NEXT_STATEMENT] === true;
    delete self[COMMIT_WITH_NEXT_STATEMENT];
    if (!this.beginDeferred && !commitAfter) return this.send(args);
    const begin = this.beginDeferred;
    this.beginDeferred = false;
    if (begin && plain && (text === 'COMMIT' || text === 'ROLLBACK')) return Promise.resolve(resultOf(text));
    // Corked, so that they go out in one write (pg corks each extended-protocol statement on its own).
    const stream = (this as unknown as { connection: { stream: { cork(): void; uncork(): void } } }).connection.stream;
    stream.cork();
    try {
      const began = begin ? this.send(['START TRANSACTION']) : undefined;
      const statement = this.send(args);
      if (commitAfter) {
        this.commitSent = (this.send(['COMMIT']) as Promise<PgResult>).then((result) => {
          if (result.command !== 'COMMIT') throw new Error(`the transaction ended with ${result.command}, not COMMIT`);
          return result;
        });
        this.commitSent.catch(() => undefined); // reported to whoever asks for the COMMIT; after a failure nobody does
      }
      if (!began) return statement;
      if (!(statement instanceof Promise)) {
        void began.catch(() => undefined); // a callback-style query: its own error reports a broken connection
        return statement;
      }
      return Promise.all([began, statement]).then(([, result]) => result);
    } finally {
      stream.uncork();
    }
  }

  private send(args: unknown[]): Promise<unknown> | undefined {
    statementsSent.count += 1;
    const query = super.query as unknown as Query;
    const [text, given] = args;
    if (typeof text === 'string' && Array.isArray(given) && given.length > 0) {
      const values = withArrayLiterals(given);
      const name = values.length <= MAX_PREPARED_PARAMETERS ? statementName(text) : undefined;
      if (name) return query.call(this, { name, text, values }, ...args.slice(2));
      return query.call(this, text, values, ...args.slice(2));
    }
    return query.apply(this, args);
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
