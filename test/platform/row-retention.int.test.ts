import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AuditRow, auditEntryFromRow, PRUNED_TABLES, verifyPagedChain } from '@agf/compliance-domain';
import { pruneExpiredRows, pruneStatement, repositoryRoot } from '@agf/platform';
import { createTestDatabase, ServiceProcess, type ServiceName, type TestDatabase, TestNats } from '@agf/testing';

const ROOT = repositoryRoot(__dirname);
const DAY_MS = 86_400_000;
const RETENTION = { operational_days: 730, audit_evidence_days: 2555 };
const SCHEMAS: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance', 'notify', 'integrations', 'rollout'];

/**
 * Retention deletes activity rows past their period (`PRUNED_TABLES`), on five years of history written by
 * `bench:history`'s preload into the services' own schemas (real Postgres): exactly the rows due, in an order
 * that no reference blocks, through an index, and the audit chain is untouched.
 */
describe('row retention (real Postgres, five years of history)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  const now = new Date();
  const cutoff = new Date(now.getTime() - RETENTION.operational_days * DAY_MS);
  const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await db.query<{ n: string }>(sql, params))[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    for (const name of SCHEMAS) {
      const service = await ServiceProcess.start(name, { databaseUrl: db.url, namespace: nats.namespace.prefix });
      await service.stop();
    }
    await promisify(execFile)(process.execPath, [join(ROOT, 'dist/tools/bench/src/history.js'), '--preload-only', db.url, '--projects', '5', '--requests', '300', '--chunk', '100'], { cwd: ROOT });
  }, 180_000);

  afterAll(async () => {
    await nats?.cleanup();
    await db?.drop();
  });

  it('walks an index for every table it prunes, never the whole table', async () => {
    await db.query(`SET enable_seqscan = off`);
    try {
      for (const [schema, tables] of Object.entries(PRUNED_TABLES)) {
        for (const table of tables) {
          const { sql, params } = pruneStatement(schema, table, cutoff);
          const [plan] = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
          const scans = JSON.stringify(plan!['QUERY PLAN']).match(/"Node Type":"Seq Scan"[^}]*?"Relation Name":"[^"]+"/g) ?? [];
          expect([`${schema}.${table.table}`, scans]).toEqual([`${schema}.${table.table}`, []]);
        }
      }
    } finally {
      await db.query(`RESET enable_seqscan`);
    }
  });

  it('deletes exactly the rows past the period, keeps the rest and the audit chain, and has nothing more to do on the next run', async () => {
    // An old request of the CoE still referred to by a newer assignment: kept with it, and the run does not fail.
    const [held] = await db.query<{ request_id: string }>(
      `UPDATE "coe"."assignments" SET "assigned_at" = now() WHERE "id" = (SELECT a."id" FROM "coe"."assignments" a JOIN "coe"."requests" r USING ("request_id") WHERE r."created_at" < $1 LIMIT 1) RETURNING "request_id"`,
      [cutoff],
    );
    expect(held).toBeDefined();
    // The requests made before the cut-off, by intake's date (which their ids encode).
    await db.query(`CREATE TABLE public.old_requests AS SELECT "id" FROM "intake"."requests" WHERE "created_at" < $1`, [cutoff]);
    await db.query(`CREATE TABLE public.old_assignments AS SELECT "id" FROM "intake"."assignments" WHERE "assigned_at" < $1`, [cutoff]);
    const oldRequests = await count(`SELECT count(*) AS n FROM public.old_requests`);
    const allRequests = await count(`SELECT count(*) AS n FROM "intake"."requests"`);
    expect(oldRequests).toBeGreaterThan(allRequests / 2);
    expect(oldRequests).toBeLessThan(allRequests);

    // Expected per table: due rows by their own date, or for tables without one, by the request or assignment they belong to.
    const undated: Record<string, string> = {
      'compliance.requests': `"request_id" IN (SELECT "id" FROM public.old_requests)`,
      'compliance.change_people': `"correlation_id" IN (SELECT "id"::text FROM public.old_requests)`,
      'compliance.assignments': `"assignment_id" IN (SELECT "id" FROM public.old_assignments)`,
      'compliance.reviews': `"assignment_id" IN (SELECT "id" FROM public.old_assignments)`,
      'rollout.requests': `"request_id" IN (SELECT "id" FROM public.old_requests)`,
    };
    const dueCondition = (schema: string, table: (typeof PRUNED_TABLES)[string][number]) =>
      table.dateColumn ? `"${table.dateColumn}" < '${(table.period === 'operational' ? cutoff : new Date(now.getTime() - RETENTION.audit_evidence_days * DAY_MS)).toISOString()}'` : undated[`${schema}.${table.table}`]!;
    const before = new Map<string, { due: number; total: number }>();
    for (const [schema, tables] of Object.entries(PRUNED_TABLES)) {
      for (const table of tables) {
        const name = `${schema}.${table.table}`;
        before.set(name, { due: await count(`SELECT count(*) AS n FROM ${name} WHERE ${dueCondition(schema, table)}`), total: await count(`SELECT count(*) AS n FROM ${name}`) });
      }
    }
    // The preload wrote history into these; the held request is the one due row the CoE keeps.
    for (const name of ['intake.requests', 'intake.request_events', 'intake.assignments', 'intake.outcomes', 'risk.assessments', 'coe.decisions', 'sla.timers', 'learning.patterns', 'compliance.requests', 'compliance.assignments']) {
      expect([name, before.get(name)!.due > 0]).toEqual([name, true]);
    }
    const [head] = await db.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
    const auditEntries = await count(`SELECT count(*) AS n FROM "compliance"."audit_entries"`);

    const removed: Record<string, number> = {};
    for (const schema of Object.keys(PRUNED_TABLES)) {
      const run = await pruneExpiredRows(db, schema, RETENTION, now);
      expect(run.cutoffs.operational).toBe(cutoff.toISOString());
      Object.assign(removed, run.removed);
    }

    for (const [schema, tables] of Object.entries(PRUNED_TABLES)) {
      for (const table of tables) {
        const name = `${schema}.${table.table}`;
        const { due, total } = before.get(name)!;
        const kept = name === 'coe.requests' ? 1 : 0;
        expect([name, removed[`${name} (rows)`] ?? 0]).toEqual([name, due - kept]);
        expect([name, await count(`SELECT count(*) AS n FROM ${name}`)]).toEqual([name, total - due + kept]);
      }
    }
    expect(await count(`SELECT count(*) AS n FROM "coe"."requests" WHERE "request_id" = $1`, [held!.request_id])).toBe(1);
    // Attestations are evidence: five years are within their seven.
    expect(removed['intake.attestations (rows)']).toBeUndefined();

    // The audit trail is evidence: every entry stays and the chain verifies.
    expect(await count(`SELECT count(*) AS n FROM "compliance"."audit_entries"`)).toBe(auditEntries);
    const verified = await verifyPagedChain(
      async (after, limit) => (await db.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [after, limit])).map(auditEntryFromRow),
      { sequence: Number(head!.sequence), entryHash: head!.entry_hash },
      100,
    );
    expect(verified).toEqual({ valid: true, entries: auditEntries });

    for (const schema of Object.keys(PRUNED_TABLES)) expect([schema, (await pruneExpiredRows(db, schema, RETENTION, now)).removed]).toEqual([schema, {}]);
  }, 120_000);
});
