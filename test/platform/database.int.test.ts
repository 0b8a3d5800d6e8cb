import { createServiceDataSource } from '@agf/platform';
import { createTestDatabase, type TestDatabase } from '@agf/testing';
import type { DataSource } from 'typeorm';

/** The service DataSource prepares parameterised statements once per connection (real Postgres). */
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
});
