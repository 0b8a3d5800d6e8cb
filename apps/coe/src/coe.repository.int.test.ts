import { randomUUID } from 'node:crypto';
import { aDecision, aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { createServiceTestDatabase, type ServiceTestDatabase } from '@agf/testing';
import type { DataSource } from 'typeorm';
import { type AssignmentRecord, coeRepository as repo } from './coe.repository';
import { COE_MIGRATIONS } from './migrations';

jest.setTimeout(60_000);

/**
 * Statements that fold reads and writes of a classification together must leave what the separate statements
 * did (real Postgres, CoE's migrations).
 */
describe('coe repository', () => {
  let service: ServiceTestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    service = await createServiceTestDatabase('coe', COE_MIGRATIONS);
    dataSource = service.dataSource;
    await dataSource.query(
      `INSERT INTO "coe"."experts" ("id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "open_reviews", "principal", "available", "away_from", "away_until", "active")
       VALUES ('security-scanner', 'security', 'automated', 'standard', 'builtin', '["security"]', 100, 0, '[]', true, NULL, NULL, true),
              ('alice', 'security', 'human', 'strategic', 'external', '["security", "payments"]', 3, 2, '["alice@example.com"]', true,
               '2026-12-24T00:00:00.250Z', '2027-01-02T08:30:00Z', true),
              ('bob', 'performance', 'human', 'standard', 'external', '[]', 5, 0, '[]', false, NULL, NULL, true),
              ('retired', 'security', 'human', 'standard', 'external', '[]', 5, 0, '[]', true, NULL, NULL, false)`,
    );
  });

  afterAll(async () => {
    await service?.drop();
  });

  function classified() {
    const request = aDeploymentRequest({ requestId: randomUUID() });
    const { request: _request, ...risk } = aRiskAssessment(request);
    return { requestId: request.requestId, projectId: request.projectId, requester: request.requester, request, risk, triggers: [], tierLevel: 0 as const, tierReasons: ['low risk'] };
  }

  it('returns the active experts with a new request, as a read of the registry does, and nothing for a request stored already', async () => {
    const request = classified();
    await dataSource.transaction(async (m) => {
      const inserted = await repo.insertRequest(m, request, { withExperts: true });
      expect(inserted?.experts).toEqual(await repo.experts(m));
      expect(inserted?.experts?.map((e) => e.id)).toEqual(['alice', 'bob', 'security-scanner']);
      expect(inserted?.experts?.[0]?.away_from).toEqual(new Date('2026-12-24T00:00:00.250Z'));
    });
    await dataSource.transaction(async (m) => {
      expect(await repo.insertRequest(m, request, { withExperts: true })).toBeUndefined();
    });
    await dataSource.transaction(async (m) => {
      expect(await repo.insertRequest(m, classified())).toEqual({ storedMode: null });
    });
  });

  it("stores a classification's assignments with its decision, unless a break-glass came first, and one decision only", async () => {
    const count = async (table: string, requestId: string) =>
      ((await dataSource.query(`SELECT count(*)::int AS "n" FROM "coe"."${table}" WHERE "request_id" = $1`, [requestId])) as Array<{ n: number }>)[0]!.n;
    const store = async (requestId: string) =>
      dataSource.transaction((m) => repo.insertAssignmentsAndDecisionUnlessBreakGlass(m, requestId, [validatorAssignment(requestId)], aDecision({ requestId, projectId: 'p' })));

    const plain = classified();
    await dataSource.transaction((m) => repo.insertRequest(m, plain));
    expect(await store(plain.requestId)).toEqual({ decided: true });
    expect([await count('assignments', plain.requestId), await count('decisions', plain.requestId)]).toEqual([1, 1]);
    // A second decision of the request is not stored.
    const [stored] = (await dataSource.query(`SELECT "decision" FROM "coe"."decisions" WHERE "request_id" = $1`, [plain.requestId])) as Array<{ decision: { requestId: string } }>;
    expect(stored!.decision.requestId).toBe(plain.requestId);
    expect(await store(plain.requestId)).toEqual({ decided: false });
    expect(await count('decisions', plain.requestId)).toBe(1);

    const broken = classified();
    const breakGlass = { requestId: broken.requestId, projectId: 'p', justification: 'prod is down', actor: { subject: 'on-call', channel: 'http' }, requestedAt: new Date().toISOString() };
    await dataSource.query(`INSERT INTO "coe"."break_glass" ("request_id", "event") VALUES ($1, $2)`, [broken.requestId, JSON.stringify(breakGlass)]);
    await dataSource.transaction((m) => repo.insertRequest(m, broken));
    expect(await store(broken.requestId)).toEqual({ breakGlass, decided: false });
    expect([await count('assignments', broken.requestId), await count('decisions', broken.requestId)]).toEqual([1, 0]);
  });
});

function validatorAssignment(requestId: string): AssignmentRecord {
  const now = new Date().toISOString();
  return {
    assignmentId: randomUUID(),
    requestId,
    expertId: 'security-scanner',
    expertType: 'security',
    expertKind: 'automated',
    runtime: 'builtin',
    role: 'validator',
    scope: ['security'],
    tierLevel: 0,
    priority: 'normal',
    slaHours: 1,
    assignedAt: now,
    slaDueAt: now,
    status: 'completed',
    supersedesAssignmentId: null,
    decision: 'approve',
    comments: 'no findings',
    conditions: [],
    confidence: 0.95,
    completedAt: now,
    purpose: 'review',
    escalation: null,
    actor: null,
  };
}
