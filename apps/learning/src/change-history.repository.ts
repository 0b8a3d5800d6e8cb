import { CHANGE_METRICS, type ChangeMetrics, type HistoryRow, type LabelledChange, type RiskModel } from '@agf/model-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

const toMetrics = (values: number[]): ChangeMetrics => Object.fromEntries(CHANGE_METRICS.map((name, i) => [name, values[i]!])) as ChangeMetrics;

/** SQL of the change history the defect model learns from, and of the models trained on it. */
export const changeHistoryRepository = {
  /** Inserts rows; one already here (same project and key) is left as it is. Returns how many were new. */
  async insert(m: Queryable, projectId: string, rows: readonly HistoryRow[], source: 'import' | 'outcome'): Promise<number> {
    if (!rows.length) return 0;
    const inserted: unknown[] = await m.query(
      `INSERT INTO "learning"."change_history" ("project_id", "change_key", "changed_at", "metrics", "outcome", "label", "source")
       SELECT $1, k, t, ARRAY(SELECT jsonb_array_elements_text(mt)::float8), o, l, $7
         FROM unnest($2::text[], $3::timestamptz[], $4::jsonb[], $5::text[], $6::smallint[]) AS u(k, t, mt, o, l)
       ON CONFLICT ("project_id", "change_key") DO NOTHING
       RETURNING 1`,
      [
        projectId,
        rows.map((r) => r.key),
        rows.map((r) => r.time.toISOString()),
        rows.map((r) => JSON.stringify(CHANGE_METRICS.map((name) => r.metrics[name]))),
        rows.map((r) => r.outcome),
        rows.map((r) => r.label),
        source,
      ],
    );
    return inserted.length;
  },

  /** A project's labelled changes in time order (ties by key, so every read gives the same order). */
  async projectRows(m: Queryable, projectId: string): Promise<LabelledChange[]> {
    const rows: Array<{ time: number; metrics: number[]; label: number }> = await m.query(
      `SELECT extract(epoch FROM "changed_at")::float8 AS "time", "metrics", "label" FROM "learning"."change_history"
        WHERE "project_id" = $1 ORDER BY "changed_at", "change_key"`,
      [projectId],
    );
    return rows.map((r) => ({ time: r.time, metrics: toMetrics(r.metrics), label: r.label === 1 ? 1 : 0 }));
  },

  /** The most recent `limit` changes of all projects, in time order. */
  async recentRows(m: Queryable, limit: number): Promise<LabelledChange[]> {
    const rows: Array<{ time: number; metrics: number[]; label: number }> = await m.query(
      `SELECT * FROM (SELECT extract(epoch FROM "changed_at")::float8 AS "time", "metrics", "label", "project_id", "change_key" FROM "learning"."change_history"
         ORDER BY "changed_at" DESC, "project_id" DESC, "change_key" DESC LIMIT $1) r ORDER BY "time", "project_id", "change_key"`,
      [limit],
    );
    return rows.map((r) => ({ time: r.time, metrics: toMetrics(r.metrics), label: r.label === 1 ? 1 : 0 }));
  },

  async nextModelSequence(m: Queryable): Promise<number> {
    const rows: Array<{ sequence: string }> = await m.query(`SELECT nextval('"learning"."risk_model_sequence"')::text AS "sequence"`);
    return Number(rows[0]!.sequence);
  },

  async recordModel(m: Queryable, r: { sequence: number; version: string; projectId: string | null; passed: boolean; detail: string; model: RiskModel; trainedAt: string }): Promise<void> {
    await m.query(
      `INSERT INTO "learning"."risk_models" ("sequence", "version", "project_id", "passed", "check_detail", "training_rows", "validation_auc", "validation_brier", "model", "trained_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [r.sequence, r.version, r.projectId, r.passed, r.detail, r.model.training.rows, r.model.validation.auc, r.model.validation.brier, JSON.stringify(r.model), r.trainedAt],
    );
  },

  /** Models trained for a scope (null: cross-project), newest first, without their bodies. */
  async models(m: Queryable, projectId: string | null): Promise<Array<{ version: string; passed: boolean; checkDetail: string; trainingRows: number; validationAuc: number | null; validationBrier: number | null; trainedAt: Date }>> {
    return m.query(
      `SELECT "version", "passed", "check_detail" AS "checkDetail", "training_rows" AS "trainingRows", "validation_auc" AS "validationAuc",
              "validation_brier" AS "validationBrier", "trained_at" AS "trainedAt"
         FROM "learning"."risk_models" WHERE "project_id" IS NOT DISTINCT FROM $1 ORDER BY "sequence" DESC LIMIT 20`,
      [projectId],
    );
  },
};
