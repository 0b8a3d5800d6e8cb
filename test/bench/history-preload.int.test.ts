import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AuditRow, auditEntryFromRow, verifyPagedChain } from '@agf/compliance-domain';
import { repositoryRoot } from '@agf/platform';
import { createTestDatabase, ServiceProcess, type ServiceName, type TestDatabase, TestNats } from '@agf/testing';

const ROOT = repositoryRoot(__dirname);
const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];

/**
 * `bench:history`'s preload at a tiny scale (real Postgres, the services' own migrations): the history it writes
 * must be one the services could have written, an audit chain that verifies and rows that agree across schemas.
 */
describe('bench:history preload (real Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql))[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    // The services create their schemas, then stop: the preload writes into a database nothing else moves.
    for (const name of SERVICES) {
      const service = await ServiceProcess.start(name, { databaseUrl: db.url, namespace: nats.namespace.prefix });
      await service.stop();
    }
    await promisify(execFile)(process.execPath, [join(ROOT, 'dist/tools/bench/src/history.js'), '--preload-only', db.url, '--projects', '5', '--requests', '200', '--chunk', '64'], { cwd: ROOT });
  }, 120_000);

  afterAll(async () => {
    await nats?.cleanup();
    await db?.drop();
  });

  it('chains every request\'s events into an audit trail that verifies, up to the recorded head', async () => {
    const [head] = await db.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
    const result = await verifyPagedChain(
      async (after, limit) => (await db.query<AuditRow>(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [after, limit])).map(auditEntryFromRow),
      { sequence: Number(head!.sequence), entryHash: head!.entry_hash },
      50,
    );
    expect(result).toEqual({ valid: true, entries: Number(head!.sequence) });
    // Each request's trail opens with its submission and closes with its decision.
    expect(await count(`SELECT count(DISTINCT "correlation_id") AS n FROM "compliance"."audit_entries" WHERE "event_type" = 'io.agf.decision.made.v1'`)).toBe(200);
    expect(await count(`SELECT count(DISTINCT "correlation_id") AS n FROM "compliance"."audit_entries" WHERE "event_type" = 'io.agf.deployment.requested.v1'`)).toBe(200);
  });

  it('writes every request to every service, with the same reviews everywhere and its timers closed', async () => {
    for (const table of ['intake.requests', 'risk.assessments', 'coe.requests', 'coe.decisions', 'learning.patterns', 'compliance.requests']) {
      expect([table, await count(`SELECT count(*) AS n FROM ${table}`)]).toEqual([table, 200]);
    }
    const assignments = await count(`SELECT count(*) AS n FROM "intake"."assignments"`);
    expect(assignments).toBeGreaterThan(0);
    for (const table of ['coe.assignments', 'compliance.assignments', 'compliance.reviews']) expect([table, await count(`SELECT count(*) AS n FROM ${table}`)]).toEqual([table, assignments]);
    expect(await count(`SELECT count(*) AS n FROM "sla"."timers"`)).toBe(2 * assignments);
    expect(await count(`SELECT count(*) AS n FROM "sla"."timers" WHERE "fired_at" IS NULL AND "cancelled_at" IS NULL`)).toBe(0);
    // Each change knows its people (the requester, and each reviewer): what sealing reads with the chain head.
    expect(await count(`SELECT count(DISTINCT "correlation_id") AS n FROM "compliance"."change_people" c JOIN "intake"."requests" r ON r."id"::text = c."correlation_id"`)).toBe(200);
    expect(await count(`SELECT count(*) AS n FROM "compliance"."change_people"`)).toBeGreaterThan(200);
    // The same request ids in each schema, and every story ends with its decision.
    expect(await count(`SELECT count(*) AS n FROM "intake"."requests" r JOIN "coe"."decisions" d ON d."request_id" = r."id" JOIN "learning"."patterns" p ON p."request_id" = r."id"`)).toBe(200);
    expect(
      await count(`SELECT count(*) AS n FROM "intake"."request_events" e WHERE e."type" = 'decision.made' AND e."seq" = (SELECT max("seq") FROM "intake"."request_events" WHERE "request_id" = e."request_id")`),
    ).toBe(200);
    // Learning's running outcome totals are those of its patterns (what its migration's backfill would count).
    expect(await count(`SELECT count(*) AS n FROM "learning"."patterns" WHERE "deployment_outcome" IS NOT NULL`)).toBeGreaterThan(0);
    expect(
      await count(`SELECT count(*) AS n FROM (
        (SELECT "project_id", "component_name", "deployments", "failures", "rollbacks", "last_failure_at" FROM "learning"."outcome_totals"
         EXCEPT SELECT "project_id", "component_name", count(*), count(*) FILTER (WHERE "deployment_outcome" = 'failed'), count(*) FILTER (WHERE "deployment_outcome" = 'rolled_back'),
                       max("outcome_reported_at") FILTER (WHERE "deployment_outcome" IN ('failed', 'rolled_back'))
                  FROM "learning"."patterns" WHERE "deployment_outcome" IS NOT NULL GROUP BY 1, 2)
        UNION ALL
        (SELECT "project_id", "component_name", count(*), count(*) FILTER (WHERE "deployment_outcome" = 'failed'), count(*) FILTER (WHERE "deployment_outcome" = 'rolled_back'),
                max("outcome_reported_at") FILTER (WHERE "deployment_outcome" IN ('failed', 'rolled_back'))
           FROM "learning"."patterns" WHERE "deployment_outcome" IS NOT NULL GROUP BY 1, 2
         EXCEPT SELECT "project_id", "component_name", "deployments", "failures", "rollbacks", "last_failure_at" FROM "learning"."outcome_totals")) AS differences`),
    ).toBe(0);
    // Spread over the years, none in the future.
    const [span] = await db.query<{ days: number; future: number }>(
      `SELECT extract(epoch FROM max("created_at") - min("created_at")) / 86400 AS days, count(*) FILTER (WHERE "updated_at" > now()) AS future FROM "intake"."requests"`,
    );
    expect(Number(span!.days)).toBeGreaterThan(4 * 365);
    expect(Number(span!.future)).toBe(0);
  });
});
