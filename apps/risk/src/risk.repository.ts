import type { HistoryStats, LearningModelUpdated, RiskAssessed } from '@agf/contracts';
import type { HistoryView } from '@agf/risk-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/** SQL of the `risk` schema; writes run in the caller's (message) transaction. */
export const riskRepository = {
  async history(m: Queryable, projectId: string, componentName: string): Promise<HistoryView> {
    const rows: { kind: 'project' | 'component'; stats: HistoryStats }[] = await m.query(
      `SELECT 'project' AS "kind", "stats" FROM "risk"."project_history" WHERE "project_id" = $1
       UNION ALL
       SELECT 'component', "stats" FROM "risk"."component_history" WHERE "project_id" = $1 AND "component_name" = $2`,
      [projectId, componentName],
    );
    const view: HistoryView = {};
    for (const row of rows) view[row.kind] = row.stats;
    return view;
  },

  /** Stores the assessment; false when the request was already assessed (a redelivery). */
  async insertAssessment(m: Queryable, assessment: RiskAssessed): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO "risk"."assessments" ("request_id", "project_id", "component_name", "revision", "overall_score", "assessment", "assessed_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING 1`,
      [
        assessment.requestId,
        assessment.projectId,
        assessment.request.componentName,
        assessment.revision,
        assessment.overallScore,
        JSON.stringify(assessment),
        assessment.assessedAt,
      ],
    );
    return rows.length === 1;
  },

  async assessment(m: Queryable, requestId: string): Promise<RiskAssessed | undefined> {
    const rows: { assessment: RiskAssessed }[] = await m.query(`SELECT "assessment" FROM "risk"."assessments" WHERE "request_id" = $1`, [requestId]);
    return rows[0]?.assessment;
  },

  /** Applies learning's update unless a newer one is already here (events of one project may arrive out of order). */
  async applyModelUpdate(m: Queryable, update: LearningModelUpdated): Promise<void> {
    await m.query(
      `INSERT INTO "risk"."project_history" ("project_id", "revision", "stats", "updated_at") VALUES ($1, $2, $3, $4)
       ON CONFLICT ("project_id") DO UPDATE SET "revision" = EXCLUDED."revision", "stats" = EXCLUDED."stats", "updated_at" = EXCLUDED."updated_at"
       WHERE "risk"."project_history"."revision" < EXCLUDED."revision"`,
      [update.projectId, update.revision, JSON.stringify(update.project), update.updatedAt],
    );
    await m.query(
      `INSERT INTO "risk"."component_history" ("project_id", "component_name", "revision", "stats", "updated_at") VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ("project_id", "component_name") DO UPDATE SET "revision" = EXCLUDED."revision", "stats" = EXCLUDED."stats", "updated_at" = EXCLUDED."updated_at"
       WHERE "risk"."component_history"."revision" < EXCLUDED."revision"`,
      [update.projectId, update.componentName, update.revision, JSON.stringify(update.component), update.updatedAt],
    );
  },
};
