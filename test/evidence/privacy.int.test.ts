import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DATA_CLASSIFICATION, RETENTION_AGE_COLUMN, unclassifiedFields } from '@agf/compliance-domain';
import type { CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually, type ServiceName } from '@agf/testing';
import { SERVICE_PORTS } from '@agf/platform';
import { SERVICES, TestSystem } from '../governance/system';

jest.setTimeout(420_000);

const AUDIT_VERIFY = join(__dirname, '..', '..', 'dist', 'tools', 'audit-verify', 'src', 'main.js');
// Every other service with a schema of its own (the console keeps none).
const EXTRA = (Object.keys(SERVICE_PORTS) as ServiceName[]).filter((name) => !SERVICES.includes(name) && name !== 'console');

/**
 * Issue 31 "Data lifecycle" against the whole running system (every service with a schema): retention removes exactly
 * the personal values that are due; an erased person leaves no trace in a dump of the database, while the
 * audit chain still verifies.
 */
describe('retention and erasure (real services, real Postgres)', () => {
  let system: TestSystem;
  const subject = `erin-erasable-${randomBytes(4).toString('hex')}`;
  const other = `otto-kept-${randomBytes(4).toString('hex')}`;
  const requests: Record<string, string[]> = { [subject]: [], [other]: [] };

  const compliance = () => system.services.get('compliance')!.url;
  const admin = () => system.identity.headers({ sub: 'dpo-admin', roles: ['admin'] });
  const dump = () => execFileSync('pg_dump', ['--no-owner', system.db.url], { maxBuffer: 512 * 1024 * 1024 }).toString();
  const verifyChain = async () => (await (await fetch(`${compliance()}/v1/audit/verify`, { headers: await system.auditor() })).json()) as { valid: boolean; entries: number };
  const post = async (path: string, body: unknown, headers: Record<string, string>) => fetch(`${compliance()}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

  async function decidedRequest(requester: string): Promise<string> {
    const id = await system.submit(aDeploymentRequestInput({ projectId: 'payments', requester, changes: ['src/auth/token.ts'], riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'low', touchesPersonalData: true } }));
    const assigned = await eventually(async () => {
      const found = (await system.nats.read('AGF_REVIEW', 'agf.v1.review.assigned.>')).map((m) => m.json<CloudEvent<'review.assigned'>>().data).filter((a) => a.requestId === id && a.expertKind === 'human');
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    for (const a of assigned) {
      await eventually(async () => expect((await system.review(id, { assignmentId: a.assignmentId, expertId: a.expertId, decision: 'approve', comments: `fine, ${requester} may deploy` })).status).toBe(202));
    }
    await system.decision(id, 90_000);
    await eventually(async () => expect((await system.auditTrail(id)).some((e) => e.eventType === 'io.agf.compliance.evaluated.v1')).toBe(true), 30_000, 250);
    return id;
  }

  beforeAll(async () => {
    system = await TestSystem.start('agf-config.privacy.yaml', { services: EXTRA });
    for (const requester of [subject, other]) for (let i = 0; i < 2; i += 1) requests[requester]!.push(await decidedRequest(requester));
    // Let the last events settle into every schema (notify's deliveries, learning's patterns).
    await new Promise((resolve) => setTimeout(resolve, 3000));
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('classifies every column of every schema, and nothing that is not there (the map and the migrations agree)', async () => {
    const columns = await system.db.query<{ schema: string; table: string; column: string }>(
      `SELECT c."table_schema" AS "schema", c."table_name" AS "table", c."column_name" AS "column" FROM "information_schema"."columns" c
         JOIN "information_schema"."tables" t USING ("table_schema", "table_name") WHERE t."table_type" = 'BASE TABLE' AND c."table_schema" = ANY($1::text[])`,
      [[...SERVICES, ...EXTRA]],
    );
    expect(unclassifiedFields(columns)).toEqual([]);
    const present = new Set(columns.map((c) => `${c.schema}.${c.table}.${c.column}`));
    expect(DATA_CLASSIFICATION.map((f) => `${f.schema}.${f.table}.${f.column}`).filter((f) => !present.has(f))).toEqual([]);
  });

  it('retention removes exactly the personal values past personal_days, reports it, and the chain still verifies', async () => {
    const aged = requests[other]![0]!;
    const agedEvents = (await system.db.query<{ event_id: string }>(`SELECT "event_id" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1`, [aged])).map((r) => r.event_id);
    const due = await system.db.query<{ id: string }>(`UPDATE "compliance"."personal_values" SET "created_at" = now() - interval '91 days' WHERE "event_id" = ANY($1::text[]) RETURNING "id"`, [agedEvents]);
    // One day short of due: kept.
    const notYet = requests[other]![1]!;
    const notYetEvents = (await system.db.query<{ event_id: string }>(`SELECT "event_id" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1`, [notYet])).map((r) => r.event_id);
    await system.db.query(`UPDATE "compliance"."personal_values" SET "created_at" = now() - interval '89 days' WHERE "event_id" = ANY($1::text[])`, [notYetEvents]);
    expect(due.length).toBeGreaterThan(0);
    // And its rows in every service's activity tables, dated 91 days back.
    const aging: Array<[string, string]> = [];
    for (const [table, ageColumn] of Object.entries(RETENTION_AGE_COLUMN).filter(([t]) => !t.endsWith('.outbox'))) {
      const [schema, name] = table.split('.') as [string, string];
      const key = (await system.db.query<{ column_name: string }>(`SELECT "column_name" FROM "information_schema"."columns" WHERE "table_schema" = $1 AND "table_name" = $2 AND "column_name" IN ('request_id', 'id') ORDER BY "column_name" DESC`, [schema, name]))[0];
      if (!key) continue;
      const aged_ = await system.db.query<{ n: number }>(`WITH u AS (UPDATE "${schema}"."${name}" SET "${ageColumn}" = "${ageColumn}" - interval '91 days' WHERE "${key.column_name}"::text = $1 RETURNING 1) SELECT count(*)::int AS n FROM u`, [aged]);
      if (aged_[0]!.n) aging.push([table, String(aged_[0]!.n)]);
    }
    expect(aging.map(([t]) => t)).toEqual(expect.arrayContaining(['intake.requests', 'risk.assessments', 'coe.requests', 'coe.decisions', 'learning.patterns']));
    const before = new Set((await system.db.query<{ id: string }>(`SELECT "id" FROM "compliance"."personal_values"`)).map((r) => r.id));

    expect((await post('/v1/privacy/retention/run', {}, await system.auditor())).status).toBe(403);
    const run = await post('/v1/privacy/retention/run', {}, await admin());
    expect(run.status).toBe(200);
    const result = (await run.json()) as { removed: Record<string, number>; cutoffs: { personal: string } };
    expect(result.removed).toEqual({ 'compliance.personal_values (personal)': due.length });
    const after = new Set((await system.db.query<{ id: string }>(`SELECT "id" FROM "compliance"."personal_values"`)).map((r) => r.id));
    expect([...before].filter((id) => !after.has(id)).sort()).toEqual(due.map((d) => d.id).sort());
    // The aged request's trail reads its personal fields as erased; the other keeps them.
    const agedTrail = await system.auditTrail(aged);
    expect(agedTrail.find((e) => e.eventType === 'io.agf.deployment.requested.v1')!.payload.data['requester']).toBe('[erased]');
    expect((await system.auditTrail(notYet)).find((e) => e.eventType === 'io.agf.deployment.requested.v1')!.payload.data['requester']).toBe(other);
    expect((await verifyChain()).valid).toBe(true);
    // Every service ran it on its own schema and reported it; the run is evidence too.
    const runs = await eventually(async () => {
      const found = (await system.nats.read('AGF_PRIVACY', 'agf.v1.privacy.retention.applied')).map((m) => m.json<CloudEvent<'privacy.retention.applied'>>().data);
      expect(found.some((r) => r.service === 'compliance' && r.removed['compliance.personal_values (personal)'] === due.length)).toBe(true);
      expect(new Set(found.map((r) => r.service))).toEqual(new Set([...SERVICES, ...EXTRA]));
      return found;
    }, 30_000, 250);
    const removedIn = (table: string) => runs.reduce((n, r) => n + (r.removed[`${table} (personal)`] ?? 0), 0);
    for (const table of ['intake.requests', 'risk.assessments', 'coe.requests', 'coe.decisions', 'learning.patterns']) expect([table, removedIn(table)]).toEqual([table, 1]);
    // Exactly the aged request's rows: expired, with their shape kept; the others untouched.
    const requesters = await system.db.query<{ id: string; requester: string }>(`SELECT "id", "requester" FROM "intake"."requests" WHERE "id" = ANY($1::uuid[])`, [[aged, notYet]]);
    expect(Object.fromEntries(requesters.map((r) => [r.id, r.requester]))).toEqual({ [aged]: '[expired]', [notYet]: other });
    expect((await system.view(aged)).requester).toBe('[expired]');
    const pattern = await system.db.query<{ request: { requester: string } }>(`SELECT "request" FROM "learning"."patterns" WHERE "request_id" = $1`, [aged]);
    expect(pattern[0]!.request.requester).toBe('[expired]');
  });

  it('erasure leaves no trace of the person in a dump of every schema, keeps others, and the audit chain still verifies', async () => {
    // Subject access first: what is held about her, read back from the trail.
    const access = await fetch(`${compliance()}/v1/privacy/subjects/${subject}`, { headers: await admin() });
    expect(access.status).toBe(200);
    const held = (await access.json()) as { erased: boolean; auditEntries: Array<{ eventType: string; payload: { data: Record<string, unknown> } }>; compliance: { requestsAsRequester: unknown[] } };
    expect(held.erased).toBe(false);
    expect(held.auditEntries.filter((e) => e.eventType === 'io.agf.deployment.requested.v1').map((e) => e.payload.data['requester'])).toEqual([subject, subject]);
    expect(held.compliance.requestsAsRequester).toHaveLength(2);
    // The dump can find her: the check below could fail.
    const schemas = [...SERVICES, ...EXTRA];
    const before = dump();
    expect(before).toContain(subject);
    for (const schema of schemas) expect(before).toContain(`CREATE SCHEMA ${schema};`);

    expect((await post('/v1/privacy/erasure', { subject }, await system.auditor())).status).toBe(403);
    expect((await post('/v1/privacy/erasure', { subject: '' }, await admin())).status).toBe(400);
    const erasure = await post('/v1/privacy/erasure', { subject }, await admin());
    expect(erasure.status).toBe(202);
    const { erasureId, pseudonym, auditValuesRemoved } = (await erasure.json()) as { erasureId: string; pseudonym: string; auditValuesRemoved: number };
    expect(auditValuesRemoved).toBeGreaterThan(0);
    await eventually(async () => {
      const status = (await (await fetch(`${compliance()}/v1/privacy/erasures/${erasureId}`, { headers: await admin() })).json()) as { appliedBy: Array<{ service: string }> };
      expect(status.appliedBy.map((a) => a.service).sort()).toEqual([...schemas].sort());
    }, 60_000, 250);

    const after = dump();
    const traces = after.split('\n').filter((line) => line.includes(subject));
    expect(traces).toEqual([]);
    expect(after).toContain(pseudonym);
    expect(after).toContain(other);
    // The chain verifies, online and offline, and the erasure is in it without her name.
    expect((await verifyChain()).valid).toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [AUDIT_VERIFY, '--database-url', system.db.url]);
    expect(JSON.parse(stdout)).toMatchObject({ valid: true });
    const recorded = await system.db.query<{ payload: string }>(`SELECT "payload" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 AND "event_type" = 'io.agf.privacy.erasure.recorded.v1'`, [erasureId]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.payload).not.toContain(subject);
    // Read back: her fields are erased, her requests pseudonymised in the services' read models.
    const trail = await system.auditTrail(requests[subject]![0]!);
    expect(trail.find((e) => e.eventType === 'io.agf.deployment.requested.v1')!.payload.data['requester']).toBe('[erased]');
    const view = await system.view(requests[subject]![0]!);
    expect(view.requester).toBe(pseudonym);
    const again = (await (await fetch(`${compliance()}/v1/privacy/subjects/${subject}`, { headers: await admin() })).json()) as { erased: boolean; auditEntries: unknown[] };
    expect(again).toMatchObject({ erased: true, auditEntries: [] });
  });
});
