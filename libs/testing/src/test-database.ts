import { randomBytes } from 'node:crypto';
import { createServiceDataSource, initialiseDatabase } from '@agf/platform';
import { Client } from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';

export const TEST_DATABASE_PREFIX = 'agf_test_';

export interface TestDatabase {
  name: string;
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** Base server URL: DATABASE_URL when set (CI and this machine), else the local default. */
export function baseDatabaseUrl(): string {
  return process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** A fresh database of its own for one test file; refuses to touch anything not named `agf_test_…`. */
export async function createTestDatabase(base = baseDatabaseUrl()): Promise<TestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${randomBytes(5).toString('hex')}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const adminClient = new Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE "${name}"`);
  await adminClient.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    name,
    url: url.toString(),
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      return (await client.query(sql, params)).rows as T[];
    },
    async drop(): Promise<void> {
      await client.end().catch(() => undefined);
      if (!name.startsWith(TEST_DATABASE_PREFIX)) throw new Error(`refusing to drop ${name}`);
      const dropClient = new Client({ connectionString: admin.toString() });
      await dropClient.connect();
      await dropClient.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await dropClient.end();
    },
  };
}

/** A service's schema, migrated, in a fresh database of its own: for tests of one service's SQL. */
export interface ServiceTestDatabase {
  db: TestDatabase;
  dataSource: DataSource;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

export async function createServiceTestDatabase(schema: string, migrations: Array<new () => MigrationInterface>): Promise<ServiceTestDatabase> {
  const db = await createTestDatabase();
  const dataSource = createServiceDataSource({ url: db.url, schema, poolSize: 2, migrations, applicationName: 'agf-test' });
  await initialiseDatabase(dataSource, schema);
  return {
    db,
    dataSource,
    async drop(): Promise<void> {
      await dataSource.destroy();
      await db.drop();
    },
  };
}
