import type { DeploymentRequest, HistoryStats, LearningModelUpdated, RiskAssessed } from '@agf/contracts';
import type { HistoryView } from '@agf/risk-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/** A request's key in `riskRepository.histories`' answer: its project and component. */
export function historyKey(r: Pick<DeploymentRequest, 'projectId' | 'componentName'>): string {
  return JSON.stringify([r.projectId, r.componentName]);
}

/** The current sequence of a scope's defect model (a bigint, as text). */
export interface ModelSequence {
  scope: string;
  sequence: string;
}

/** SQL of the `risk` schema; writes run in the caller's (message) transaction. */
export const riskRepository = {
  /**
   * The history views of these requests' projects and components, by `historyKey`, and in the same statement
   * the current sequence of the defect models of `modelScopes` (what `DefectModelStore.modelsFor` compares its
   * cache with).
   */
  async histories(
    m: Queryable,
    requests: Array<Pick<DeploymentRequest, 'projectId' | 'componentName'>>,
    modelScopes: readonly string[],
  ): Promise<{ views: Map<string, HistoryView>; modelSequences: ModelSequence[] }> {
    const rows: { kind: 'project' | 'component' | 'model'; project_id: string; component_name: string | null; stats: unknown }[] = await m.query(
      `WITH "wanted" AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS w("project_id", "component_name"))
       SELECT 'project' AS "kind", p."project_id", w."component_name", p."stats"
         FROM "wanted" w JOIN "risk"."project_history" p ON p."project_id" = w."project_id"
       UNION ALL
       SELECT 'component', c."project_id", c."component_name", c."stats"
         FROM "wanted" w JOIN "risk"."component_history" c ON c."project_id" = w."project_id" AND c."component_name" = w."component_name"
       UNION ALL
       SELECT 'model', d."scope", NULL, to_jsonb(d."sequence"::text) FROM "risk"."defect_models" d WHERE d."scope" = ANY($3::text[])`,
      [requests.map((r) => r.projectId), requests.map((r) => r.componentName), modelScopes],
    );
    const views = new Map<string, HistoryView>();
    const modelSequences: ModelSequence[] = [];
    for (const row of rows) {
      if (row.kind === 'model') {
        modelSequences.push({ scope: row.project_id, sequence: row.stats as string });
        continue;
      }
      const key = historyKey({ projectId: row.project_id, componentName: row.component_name! });
      const view = views.get(key) ?? {};
      view[row.kind] = row.stats as HistoryStats;
      views.set(key, view);
    }
    return { views, modelSequences };
  },

  /** Stores assessments (one per request) in one statement; returns the requests not assessed before. */
  async insertAssessments(m: Queryable, assessments: RiskAssessed[]): Promise<Set<string>> {
    if (!assessments.length) return new Set();
    const rows: { request_id: string }[] = await m.query(
      `INSERT INTO "risk"."assessments" ("request_id", "project_id", "component_name", "revision", "overall_score", "assessment", "assessed_at")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::jsonb[], $7::timestamptz[])
       ON CONFLICT DO NOTHING RETURNING "request_id"`,
      [
        assessments.map((a) => a.requestId),
        assessments.map((a) => a.projectId),
        assessments.map((a) => a.request.componentName),
        assessments.map((a) => a.revision),
        assessments.map((a) => a.overallScore),
        assessments.map((a) => JSON.stringify(a)),
        assessments.map((a) => a.assessedAt),
      ],
    );
    return new Set(rows.map((r) => r.request_id));
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
