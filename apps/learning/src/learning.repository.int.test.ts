import { randomUUID } from 'node:crypto';
import { newId } from '@agf/contracts';
import { countOutcomes, type DeploymentRecord, type OutcomeStatus } from '@agf/learning-domain';
import { createServiceDataSource, initialiseDatabase } from '@agf/platform';
import { createTestDatabase, type TestDatabase } from '@agf/testing';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { learningRepository as repo, SIMILAR_CANDIDATE_SCAN, similarCandidatesQuery } from './learning.repository';
import { LEARNING_MIGRATIONS } from './migrations';
import { LearningOutcomeTotals1732700000401 } from './migrations/1732700000401-learning-outcome-totals';

jest.setTimeout(120_000);

const DAY = 24 * 60 * 60 * 1000;

function learningDataSource(url: string, migrations: typeof LEARNING_MIGRATIONS): DataSource {
  return createServiceDataSource({ url, schema: 'learning', poolSize: 2, migrations, applicationName: 'agf-test' });
}

async function insertPendingPattern(dataSource: DataSource, row: { requestId: string; projectId: string; componentName: string }): Promise<void> {
  await dataSource.query(`INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name") VALUES ($1, $2, $3)`, [
    row.requestId,
    row.projectId,
    row.componentName,
  ]);
}

/**
 * Postgres keeps a project's outcome counts (real Postgres, learning's own migrations) exactly as `countOutcomes`
 * defines them, whether the outcomes were stored one by one (running totals) or before the totals existed (the
 * migration's backfill).
 */
describe('learning outcome counts', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = learningDataSource(db.url, LEARNING_MIGRATIONS);
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
  const outcomeReport = fc.record({ status: fc.constantFrom<OutcomeStatus>('succeeded', 'failed', 'rolled_back'), reportedAt });
  const pattern = fc.record({
    projectId: fc.constantFrom('p', 'other'),
    componentName: fc.constantFrom('api', 'web'),
    // None (still pending), or the reports in the order they arrive: only the first one counts.
    reports: fc.array(outcomeReport, { maxLength: 3 }),
  });
  type Pattern = { requestId: string; projectId: string; componentName: string; reports: Array<{ status: OutcomeStatus; reportedAt: number }> };

  function expectedCounts(patterns: Pattern[], filter: (p: Pattern) => boolean): ReturnType<typeof countOutcomes> {
    const records: DeploymentRecord[] = patterns.filter(filter).map((p) => ({
      requestId: p.requestId,
      outcome: p.reports[0]?.status ?? null,
      reportedAt: p.reports[0] ? new Date(p.reports[0].reportedAt).toISOString() : null,
    }));
    return countOutcomes(records, now);
  }

  async function expectCountsOf(source: DataSource, patterns: Pattern[], componentName: string): Promise<void> {
    const counted = await repo.outcomeCounts(source, 'p', componentName, now);
    expect(counted.project).toEqual(expectedCounts(patterns, (p) => p.projectId === 'p'));
    expect(counted.component).toEqual(expectedCounts(patterns, (p) => p.projectId === 'p' && p.componentName === componentName));
  }

  it('gives the counts of countOutcomes for the project and for one component, a repeated report counted once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(pattern, { maxLength: 40 }), fc.constantFrom('api', 'web'), async (generated, componentName) => {
        await dataSource.query(`TRUNCATE "learning"."patterns", "learning"."outcome_totals"`);
        const patterns: Pattern[] = generated.map((p) => ({ ...p, requestId: randomUUID() }));
        for (const p of patterns) {
          if (!p.reports.length) await insertPendingPattern(dataSource, p);
          for (const [index, report] of p.reports.entries()) {
            const stored = await repo.storeOutcome(dataSource, { ...p, status: report.status, reportedAt: new Date(report.reportedAt).toISOString() });
            expect(stored).toBe(index === 0);
          }
        }
        await expectCountsOf(dataSource, patterns, componentName);
      }),
      { numRuns: 80 },
    );
  });

  it('counts, after the upgrade that adds running totals, the outcomes reported before it', async () => {
    const upgraded = await createTestDatabase();
    const before = learningDataSource(upgraded.url, LEARNING_MIGRATIONS.filter((m) => m !== LearningOutcomeTotals1732700000401));
    const after = learningDataSource(upgraded.url, LEARNING_MIGRATIONS);
    try {
      await initialiseDatabase(before, 'learning');
      const patterns: Pattern[] = fc
        .sample(pattern, { numRuns: 60, seed: 29 })
        .map((p) => ({ ...p, requestId: randomUUID(), reports: p.reports.slice(0, 1) }));
      for (const p of patterns) {
        const report = p.reports[0];
        await before.query(
          `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "deployment_outcome", "outcome_reported_at") VALUES ($1, $2, $3, $4, $5)`,
          [p.requestId, p.projectId, p.componentName, report?.status ?? null, report ? new Date(report.reportedAt).toISOString() : null],
        );
      }
      await initialiseDatabase(after, 'learning');
      await expectCountsOf(after, patterns, 'api');
      await expectCountsOf(after, patterns, 'web');
    } finally {
      await before.destroy().catch(() => undefined);
      await after.destroy().catch(() => undefined);
      await upgraded.drop();
    }
  });
});

/**
 * The similar-request read stays bounded as a project's history grows (real Postgres, learning's migrations): of
 * the newest patterns up to the cap it takes those with features, finding them by walking an index newest first.
 * Which way the planner then reads their rows depends on the table's size; `npm run bench:history` checks the
 * whole plan on a 5-year history.
 */
describe('similar candidates', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const idsOf: Record<string, string[]> = {};
  /** Rows without features yet (their assessment not in): never candidates. */
  const withoutFeatures = new Set<string>();

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = learningDataSource(db.url, LEARNING_MIGRATIONS);
    await initialiseDatabase(dataSource, 'learning');
    const sizes: Record<string, number> = { long: SIMILAR_CANDIDATE_SCAN * 4, short: 1500, tiny: 40 };
    for (const [projectId, size] of Object.entries(sizes)) {
      const ids = Array.from({ length: size }, () => newId());
      idsOf[projectId] = ids;
      // Among the newest of each project.
      for (const id of [...ids].sort().reverse().slice(3, 6)) withoutFeatures.add(id);
      await dataSource.query(
        `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "features", "decided_at")
         SELECT id, $2, 'api', CASE WHEN id = ANY($3::uuid[]) THEN NULL ELSE '{"codeChanges":1}'::jsonb END, now()
           FROM unnest($1::uuid[]) AS id`,
        [ids, projectId, [...withoutFeatures]],
      );
    }
    // As autovacuum leaves a table that is mostly history: statistics, and pages marked all-visible.
    await dataSource.query(`VACUUM ANALYZE "learning"."patterns"`);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  /** The ids a read should give: of the newest of those projects but the excluded one, up to the cap, those with features. */
  function newest(projects: string[], excluded: string): string[] {
    const ids = projects.flatMap((p) => idsOf[p]!).filter((id) => id !== excluded);
    return ids.sort().reverse().slice(0, SIMILAR_CANDIDATE_SCAN).filter((id) => !withoutFeatures.has(id));
  }

  it.each([[['long']], [['short', 'tiny']], [['tiny', 'long', 'tiny']]])('gives the newest patterns of %j, newest first, up to the cap', async (projects) => {
    const excluded = [...idsOf[projects[0]!]!].sort().reverse()[0]!;
    const candidates = await repo.similarCandidates(dataSource, excluded, projects);
    expect(candidates.map((c) => c.requestId)).toEqual(newest([...new Set(projects)], excluded));
    expect(candidates[0]).toMatchObject({ componentName: 'api', features: { codeChanges: 1 } });
  });

  it("gives every project's newest to a reader of all projects", async () => {
    const excluded = idsOf['short']![7]!;
    const candidates = await repo.similarCandidates(dataSource, excluded, 'all');
    expect(candidates.map((c) => c.requestId)).toEqual(newest(Object.keys(idsOf), excluded));
  });

  it.each<[string, 'all' | string[], string]>([
    ['one project', ['long'], 'patterns_recent_by_project'],
    ['several projects', ['long', 'short'], 'patterns_recent_by_project'],
    ['every project', 'all', 'patterns_pkey'],
  ])('finds the newest patterns of %s from an index alone, reading no more than the cap from it', async (_, projects, index) => {
    const [text, parameters] = similarCandidatesQuery(newId(), projects);
    const [{ 'QUERY PLAN': [plan] }] = await dataSource.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, parameters);
    type PlanNode = { 'Node Type': string; 'Index Name'?: string; 'Actual Rows': number; 'Actual Loops': number; 'Rows Removed by Filter'?: number; Plans?: PlanNode[] };
    const walks: PlanNode[] = [];
    const visit = (node: PlanNode): void => {
      if (node['Index Name'] === index && node['Node Type'] === 'Index Only Scan') walks.push(node);
      node.Plans?.forEach(visit);
    };
    visit((plan as { Plan: PlanNode }).Plan);
    expect(walks).toHaveLength(1);
    const read = (walks[0]!['Actual Rows'] + (walks[0]!['Rows Removed by Filter'] ?? 0)) * walks[0]!['Actual Loops'];
    expect(read).toBeLessThanOrEqual((projects === 'all' ? 1 : projects.length) * SIMILAR_CANDIDATE_SCAN);
  });
});
