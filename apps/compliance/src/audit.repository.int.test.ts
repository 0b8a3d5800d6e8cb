import { randomUUID } from 'node:crypto';
import { isSealedValue, subjectDigest, verifyChain } from '@agf/compliance-domain';
import { type CloudEventEnvelope, createEvent } from '@agf/contracts';
import { aDecision, aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { statementsSent } from '@agf/platform';
import { createServiceTestDatabase, type ServiceTestDatabase } from '@agf/testing';
import type { DataSource } from 'typeorm';
import { auditRepository as audit } from './audit.repository';
import { COMPLIANCE_MIGRATIONS } from './migrations';
import { personalValues, privacyKey } from './privacy/personal-values.repository';

jest.setTimeout(60_000);

/**
 * Appending a batch to the chain seals its personal fields: what sealing needs is read with the chain head and
 * what it keeps is written with the entries (real Postgres, compliance's migrations).
 */
describe('audit repository', () => {
  let service: ServiceTestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    service = await createServiceTestDatabase('compliance', COMPLIANCE_MIGRATIONS);
    dataSource = service.dataSource;
  });

  afterAll(async () => {
    await service?.drop();
  });

  /** A change's events: the request names its requester, the decision a person who approved it in free text. */
  function change(requester: string): CloudEventEnvelope[] {
    const request = aDeploymentRequest({ requestId: randomUUID(), requester });
    const { requestId, projectId } = request;
    const event = <N extends 'deployment.requested' | 'risk.assessed' | 'decision.made'>(name: N, data: unknown) =>
      createEvent({ name, source: 'test', correlationId: requestId, data: data as never }) as unknown as CloudEventEnvelope;
    return [
      event('deployment.requested', { ...request }),
      event('risk.assessed', aRiskAssessment(request)),
      event('decision.made', aDecision({ requestId, projectId, decisionRationale: `approved for ${requester}` })),
    ];
  }

  it('keeps each personal value beside the chain, owned by its people, and none of a person erased before', async () => {
    const key = await privacyKey(dataSource);
    const erased = `erased-${randomUUID()}`;
    await dataSource.query(
      `INSERT INTO "compliance"."erasures" ("erasure_id", "subject_commitment", "pseudonym", "audit_values_removed", "requested_at") VALUES ($1, $2, 'x', 0, now())`,
      [randomUUID(), subjectDigest(key, erased)],
    );
    const requester = `dev-${randomUUID()}`;
    const kept = change(requester);
    const gone = change(erased);
    // The batch's people and the change's known people come from earlier batches too: the decision alone.
    await dataSource.transaction((m) => audit.appendAll(m, kept.slice(0, 2)));
    const before = statementsSent.count;
    const types = await dataSource.transaction((m) => audit.appendAll(m, [kept[2]!, ...gone]));
    expect(statementsSent.count - before).toBe(4); // START TRANSACTION, the head with what sealing reads, the entries with what it keeps, COMMIT
    expect(types).toEqual(['io.agf.decision.made.v1', 'io.agf.deployment.requested.v1', 'io.agf.risk.assessed.v1', 'io.agf.decision.made.v1']);

    const entries = await audit.byEventIds(dataSource, [...kept, ...gone].map((e) => e.id));
    expect(verifyChain(entries).valid).toBe(true);
    const revealed = await personalValues.reveal(dataSource, entries);
    const payloadOf = (id: string) => revealed.find((e) => e.eventId === id)!.payload as { data: Record<string, unknown> };
    expect(payloadOf(kept[0]!.id).data['requester']).toBe(requester);
    // Free text of the change is owned by everyone in it, the requester included: the earlier batch's person counts.
    const rationale = entries.find((e) => e.eventId === kept[2]!.id)!.payload as { data: { decisionRationale: unknown } };
    expect(isSealedValue(rationale.data.decisionRationale)).toBe(true);
    const [owners] = (await dataSource.query(`SELECT "owners" FROM "compliance"."personal_values" WHERE "id" = $1`, [
      (rationale.data.decisionRationale as { $personal: string }).$personal,
    ])) as Array<{ owners: string[] }>;
    expect(owners!.owners).toContain(subjectDigest(key, requester));
    // The erased person's values are committed to in the chain but never kept: they read as erased.
    expect(payloadOf(gone[0]!.id).data['requester']).toBe('[erased]');
    expect(payloadOf(gone[2]!.id).data['decisionRationale']).toBe('[erased]');
    const people = (await dataSource.query(`SELECT "correlation_id", "person" FROM "compliance"."change_people" WHERE "correlation_id" = ANY($1::text[])`, [
      [kept[0]!.correlationid, gone[0]!.correlationid],
    ])) as Array<{ correlation_id: string; person: string }>;
    expect(people.map((p) => [p.correlation_id, p.person.trim()]).sort()).toEqual(
      [
        [kept[0]!.correlationid, subjectDigest(key, requester)],
        [gone[0]!.correlationid, subjectDigest(key, erased)],
      ].sort(),
    );

    // Delivered again: nothing is appended or kept twice.
    const values = (await dataSource.query(`SELECT count(*)::int AS "n" FROM "compliance"."personal_values"`)) as Array<{ n: number }>;
    expect(await dataSource.transaction((m) => audit.appendAll(m, [...kept, ...gone]))).toEqual([]);
    expect(await dataSource.query(`SELECT count(*)::int AS "n" FROM "compliance"."personal_values"`)).toEqual(values);
  });
  it('reads the erasures of a batch\'s people through their index, however many people were erased', async () => {
    // Erasures only grow. Even with sequential scans ruled out, a comparison the index cannot serve (text against
    // the char(64) column) reads the whole index and filters; the lookup must be the index's condition.
    const plan = await dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL enable_seqscan = off`);
      const rows: Array<{ 'QUERY PLAN': string }> = await m.query(`EXPLAIN SELECT ${personalValues.readColumns(1, 2)}`, [[randomUUID()], ['a'.repeat(64)]]);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    // Looked up by the index (an Index Cond on the column), not the whole index or table filtered.
    expect(plan).toMatch(/Index Cond: \(subject_commitment = ANY/);
    expect(plan).not.toMatch(/Seq Scan on erasures|Filter: \(\(subject_commitment\)::text/);
  });
});
