import { randomUUID } from 'node:crypto';
import { countOutcomes, type DeploymentRecord, type OutcomeStatus } from '@agf/learning-domain';
import { messagingTablesMigration } from '@agf/messaging';
import { createServiceDataSource, initialiseDatabase } from '@agf/platform';
import { createTestDatabase, type TestDatabase } from '@agf/testing';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { learningRepository as repo } from './learning.repository';
import { LearningSchema1732500000401 } from './migrations/1732500000401-learning-schema';
import { LearningOutcomeIndex1732500000402 } from './migrations/1732500000402-learning-outcome-index';
import { LearningPublishedModels1732500000403 } from './migrations/1732500000403-learning-published-models';
import { LearningOutcomeCountsCoveringIndex1732600000401 } from './migrations/1732600000401-outcome-counts-covering-index';

jest.setTimeout(120_000);

const DAY = 24 * 60 * 60 * 1000;

/** Postgres counts a project's outcomes (real Postgres, learning's own migrations) exactly as `countOutcomes` defines. */
describe('learning outcome counts', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = createServiceDataSource({
      url: db.url,
      schema: 'learning',
      poolSize: 2,
      migrations: [messagingTablesMigration('learning'), LearningSchema1732500000401, LearningOutcomeIndex1732500000402, LearningPublishedModels1732500000403, LearningOutcomeCountsCoveringIndex1732600000401],
      applicationName: 'agf-test',
    });
    await initialiseDatabase(dataSource, 'learning');
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  const now = new Date('2026-03-31T12:00:00.000Z');
  // Around the window's edges (exactly 30 days back, now) as well as anywhere from 60 days back to a day ahead.
  const reportedAt = fc.oneof(
    fc.constantFrom(now.getTime() - 30 * DAY, now.getTime() - 30 * DAY - 1, now.getTime(), now.getTime() + 1),
    fc.integer({ min: now.getTime() - 60 * DAY, max: now.getTime() + DAY }),
  );
  const pattern = fc.record({
    projectId: fc.constantFrom('p', 'other'),
    componentName: fc.constantFrom('api', 'web'),
    outcome: fc.constantFrom<OutcomeStatus | null>(null, 'succeeded', 'failed', 'rolled_back'),
    reportedAt: fc.option(reportedAt, { nil: null }),
  });

  it('gives the counts of countOutcomes for the project and for one component', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pattern, { maxLength: 40 }), fc.constantFrom('api', 'web'), async (patterns, componentName) => {
        await dataSource.query(`TRUNCATE "learning"."patterns"`);
        const rows = patterns.map((p) => ({ ...p, requestId: randomUUID(), reportedAt: p.outcome && p.reportedAt !== null ? new Date(p.reportedAt).toISOString() : null }));
        for (const r of rows) {
          await dataSource.query(
            `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "deployment_outcome", "outcome_reported_at") VALUES ($1, $2, $3, $4, $5)`,
            [r.requestId, r.projectId, r.componentName, r.outcome, r.reportedAt],
          );
        }
        const records = (filter: (r: (typeof rows)[number]) => boolean): DeploymentRecord[] =>
          rows.filter(filter).map((r) => ({ requestId: r.requestId, outcome: r.outcome, reportedAt: r.reportedAt }));

        const counted = await repo.outcomeCounts(dataSource, 'p', componentName, now);
        expect(counted.project).toEqual(countOutcomes(records((r) => r.projectId === 'p'), now));
        expect(counted.component).toEqual(countOutcomes(records((r) => r.projectId === 'p' && r.componentName === componentName), now));
      }),
      { numRuns: 80 },
    );
  });
});
