import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { ReviewAssigned, ReviewCompleted } from '@agf/contracts';
import { aDecision } from '@agf/contracts/testing';
import { createServiceTestDatabase, type ServiceTestDatabase } from '@agf/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { INTAKE_MIGRATIONS } from '../migrations';
import { projectReadModelEvents, type ReadModelEvent } from '../read-model/read-model.projection';
import { AttestationSigner } from './attestation-signer';
import { Attestations } from './attestations';

jest.setTimeout(60_000);

/**
 * A decision's attestation is signed in the transaction that records it. For a request decided in one step,
 * the read model's lock of the request row reads what the attestation needs, so no read of its own is sent;
 * the envelope must be the one the read of the stored request and story gives (Ed25519 signs deterministically).
 */
describe('decision attestations', () => {
  let service: ServiceTestDatabase;
  let dataSource: DataSource;
  let attestations: Attestations;
  const previousKey = process.env['AGF_ATTESTATION_KEY'];

  beforeAll(async () => {
    service = await createServiceTestDatabase('intake', INTAKE_MIGRATIONS);
    dataSource = service.dataSource;
    process.env['AGF_ATTESTATION_KEY'] = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    attestations = new Attestations(new AttestationSigner());
  });

  afterAll(async () => {
    if (previousKey === undefined) delete process.env['AGF_ATTESTATION_KEY'];
    else process.env['AGF_ATTESTATION_KEY'] = previousKey;
    await service?.drop();
  });

  it('signs a one-step decision from the lock read, as from a read of the stored request and answers', async () => {
    const requestId = randomUUID();
    const projectId = 'p-attested';
    const digest = 'a'.repeat(64);
    const at = new Date(Date.UTC(2026, 11, 7, 12, 0, 1)).toISOString();
    const assignment: ReviewAssigned = {
      requestId,
      projectId,
      assignmentId: randomUUID(),
      expertId: 'security-scanner',
      expertType: 'security',
      expertKind: 'automated',
      role: 'standard',
      scope: ['security'],
      tierLevel: 0,
      priority: 'normal',
      slaHours: 1,
      assignedAt: at,
      slaDueAt: at,
    };
    const answer: ReviewCompleted = {
      requestId,
      projectId,
      assignmentId: assignment.assignmentId,
      expertId: assignment.expertId,
      expertType: assignment.expertType,
      expertKind: assignment.expertKind,
      decision: 'approve',
      comments: 'no findings',
      conditions: [],
      confidence: 0.9,
      completedAt: at,
      actor: { subject: 'scanner-bot', channel: 'nats' },
    };
    const decision = aDecision({
      requestId,
      projectId,
      tierLevel: 0,
      decidedAt: at,
      expertReviews: [{ assignmentId: assignment.assignmentId, expertId: assignment.expertId, expertType: 'security', expertKind: 'automated', status: 'completed', decision: 'approve', comments: 'no findings', conditions: [], confidence: 0.9, completionTime: at }],
    });
    const told: ReadModelEvent[] = [
      { name: 'review.classified', data: { requestId, projectId, governanceRequired: true, triggers: [], tierLevel: 0, tierReasons: ['low risk'], classifiedAt: at } },
      { name: 'review.assigned', data: assignment },
      { name: 'review.completed', data: answer },
      { name: 'decision.made', data: decision, decidedInOneStep: true },
    ];
    await dataSource.query(
      `INSERT INTO "intake"."requests" ("id", "project_id", "component_name", "version", "requester", "request") VALUES ($1, $2, 'checkout', '1.0.0', 'dev', $3)`,
      [requestId, projectId, JSON.stringify({ metadata: { artifactDigest: `sha256:${digest}` } })],
    );

    const statements: string[] = [];
    await dataSource.transaction(async (m) => {
      const counting = { query: (sql: string, parameters?: unknown[]) => (statements.push(sql), m.query(sql, parameters)) } as unknown as EntityManager;
      await attestations.record(counting, [decision], await projectReadModelEvents(counting, told));
    });
    const fromLock = await attestations.find(dataSource.manager, requestId);
    expect(statements.filter((sql) => /^\s*SELECT r\."id", r\."request"/.test(sql))).toEqual([]);

    await dataSource.query(`DELETE FROM "intake"."attestations" WHERE "request_id" = $1`, [requestId]);
    await dataSource.transaction((m) => attestations.record(m, [decision]));
    const fromRead = await attestations.find(dataSource.manager, requestId);

    expect(fromLock).toEqual(fromRead);
    const statement = JSON.parse(Buffer.from(fromLock!.payload, 'base64').toString('utf8')) as { subject: Array<{ digest?: Record<string, string> }>; predicate: { approvers: Array<{ identity: unknown }> } };
    expect(statement.subject[0]!.digest).toEqual({ sha256: digest });
    expect(statement.predicate.approvers).toEqual([expect.objectContaining({ identity: { subject: 'scanner-bot', channel: 'nats' } })]);
  });
});
