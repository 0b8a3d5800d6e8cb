import { queryThenCommit } from '@agf/messaging';
import { createServiceDataSource, statementsSent } from '@agf/platform';
import { createTestDatabase, type TestDatabase } from '@agf/testing';
import type { DataSource, EntityManager } from 'typeorm';

/** The service DataSource prepares parameterised statements once per connection and compresses with lz4 (real Postgres). */
describe('service database connections', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = createServiceDataSource({ url: db.url, schema: 'public', poolSize: 1, migrations: [], applicationName: 'agf-test' });
    await dataSource.initialize();
    await dataSource.query(`CREATE TABLE "public"."things" ("id" text PRIMARY KEY, "n" int NOT NULL)`);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  const prepared = async () =>
    dataSource.query<Array<{ name: string; statement: string }>>(`SELECT "name", "statement" FROM pg_prepared_statements ORDER BY "name"`);

  it('compresses the large values it writes with lz4, not pglz', async () => {
    await dataSource.query(`CREATE TABLE "public"."documents" ("id" int PRIMARY KEY, "body" text NOT NULL)`);
    await dataSource.query(`INSERT INTO "public"."documents" ("id", "body") VALUES (1, repeat('a compressible sentence ', 400))`);
    expect(await dataSource.query(`SELECT pg_column_compression("body") AS "method" FROM "public"."documents"`)).toEqual([{ method: 'lz4' }]);
    await dataSource.query(`DROP TABLE "public"."documents"`);
  });

  it('prepares a parameterised statement once and reuses it, with the right results', async () => {
    const insert = `INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING "id"`;
    expect(await dataSource.query(insert, ['a', 1])).toEqual([{ id: 'a' }]);
    expect(await dataSource.query(insert, ['b', 2])).toEqual([{ id: 'b' }]);
    expect(await dataSource.query(insert, ['a', 3])).toEqual([]);
    const statements = (await prepared()).filter((s) => s.statement === insert);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.name).toMatch(/^agf_[0-9a-f]{20}$/);
  });

  it('leaves `*` statements and statements without parameters unprepared, so a new column cannot break them', async () => {
    const before = (await prepared()).length;
    expect(await dataSource.query(`SELECT * FROM "public"."things" WHERE "id" = $1`, ['b'])).toEqual([{ id: 'b', n: 2 }]);
    expect(await dataSource.query(`SELECT count(*)::int AS "count" FROM "public"."things"`)).toEqual([{ count: 2 }]);
    await dataSource.query(`ALTER TABLE "public"."things" ADD COLUMN "extra" text`);
    expect(await dataSource.query(`SELECT * FROM "public"."things" WHERE "id" = $1`, ['b'])).toEqual([{ id: 'b', n: 2, extra: null }]);
    expect((await prepared()).length).toBe(before);
  });

  it('prepares statements whose `*` is no result column: count(*), a multiplication', async () => {
    const count = `SELECT count(*)::int AS "count" FROM "public"."things" WHERE "n" >= $1`;
    const product = `SELECT "n" * $2::int AS "scaled" FROM "public"."things" WHERE "id" = $1`;
    expect(await dataSource.query(count, [0])).toEqual([{ count: 2 }]);
    expect(await dataSource.query(product, ['b', 3])).toEqual([{ scaled: 6 }]);
    const names = (await prepared()).map((s) => s.statement);
    expect(names).toEqual(expect.arrayContaining([count, product]));
    for (const star of [`SELECT t.* FROM "public"."things" t WHERE t."id" = $1`, `UPDATE "public"."things" SET "n" = "n" WHERE "id" = $1 RETURNING *`, `SELECT "id", * FROM "public"."things" WHERE "id" = $1`]) {
      await dataSource.query(star, ['b']);
      expect((await prepared()).map((s) => s.statement)).not.toContain(star);
    }
  });

  it('keeps a prepared statement working across a rolled-back transaction', async () => {
    const update = `UPDATE "public"."things" SET "n" = "n" + $2 WHERE "id" = $1`;
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(update, ['a', 10]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await dataSource.query(update, ['a', 5]);
    expect(await dataSource.query(`SELECT "n" FROM "public"."things" WHERE "id" = $1`, ['a'])).toEqual([{ n: 6 }]);
  });

  describe('a transaction\'s BEGIN, sent with its first statement', () => {
    const backendTransaction = `SELECT txid_current_if_assigned()::text AS "txid", now() = statement_timestamp() AS "outside"`;

    it('runs the statements in one transaction: they see one start time and roll back together', async () => {
      const second = await dataSource.transaction(async (manager) => {
        await manager.query(`INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2)`, ['tx-1', 1]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const rows: Array<{ txid: string | null; outside: boolean }> = await manager.query(backendTransaction);
        return rows[0]!;
      });
      // now() is the transaction's start: a statement 20 ms after the insert, in its transaction, sees an older
      // now() and the transaction id the insert was given.
      expect(second).toEqual({ txid: expect.stringMatching(/^\d+$/), outside: false });

      await expect(
        dataSource.transaction(async (manager) => {
          await manager.query(`INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2)`, ['tx-2', 1]);
          await manager.query(`INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2)`, ['tx-3', 1]);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await dataSource.query(`SELECT "id" FROM "public"."things" WHERE "id" LIKE 'tx-%' ORDER BY "id"`)).toEqual([{ id: 'tx-1' }]);
    });

    it('reports an error of the first statement, rolls back, and leaves the connection usable', async () => {
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.query(`INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2)`, ['tx-1', 2]);
        }),
      ).rejects.toThrow(/duplicate key/);
      // One pooled connection: had the BEGIN been left pending, this would run inside a stale transaction.
      expect(await dataSource.query(backendTransaction)).toEqual([{ txid: null, outside: true }]);
    });

    it('sends nothing for a transaction that ends before any statement', async () => {
      const before = statementsSent.count;
      await dataSource.transaction(async () => undefined);
      await expect(dataSource.transaction(async () => Promise.reject(new Error('nothing done')))).rejects.toThrow('nothing done');
      expect(statementsSent.count).toBe(before);
      expect(await dataSource.query(backendTransaction)).toEqual([{ txid: null, outside: true }]);
    });
  });

  describe('a transaction\'s COMMIT, sent with the statement marked to end it', () => {
    const insertThing = `INSERT INTO "public"."things" ("id", "n") VALUES ($1, $2)`;
    const endingWith = (manager: EntityManager, id: string): Promise<unknown> => queryThenCommit(manager, insertThing, [id, 1]);
    const ids = async (prefix: string) =>
      (await dataSource.query<Array<{ id: string }>>(`SELECT "id" FROM "public"."things" WHERE "id" LIKE $1 ORDER BY "id"`, [`${prefix}%`])).map((r) => r.id);

    it('commits the transaction with it, one statement fewer', async () => {
      const before = statementsSent.count;
      await dataSource.transaction(async (manager) => {
        await manager.query(insertThing, ['commit-1', 1]);
        await endingWith(manager, 'commit-2');
      });
      expect(statementsSent.count - before).toBe(4); // BEGIN, two inserts, COMMIT: TypeORM's own COMMIT sends nothing
      expect(await ids('commit-')).toEqual(['commit-1', 'commit-2']);
    });

    it('rolls the whole transaction back when that statement fails, and the connection stays usable', async () => {
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.query(insertThing, ['fail-1', 1]);
          await endingWith(manager, 'commit-1'); // taken above: a unique violation
        }),
      ).rejects.toThrow(/duplicate key/);
      expect(await ids('fail-')).toEqual([]);
      expect(await dataSource.query(`SELECT txid_current_if_assigned() AS "txid"`)).toEqual([{ txid: null }]);
      await dataSource.transaction((manager) => endingWith(manager, 'after-1')); // BEGIN, statement and COMMIT in one write
      expect(await ids('after-')).toEqual(['after-1']);
    });

    it('refuses a statement after it instead of running it outside the transaction', async () => {
      await expect(
        dataSource.transaction(async (manager) => {
          await endingWith(manager, 'late-1');
          await manager.query(insertThing, ['late-2', 1]);
        }),
      ).rejects.toThrow(/outside it/);
      expect(await ids('late-')).toEqual(['late-1']); // committed with its statement; the refused one never ran
    });
  });
});
