import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change-level history the defect model learns from (issue 28): imported past changes and the outcomes of
 * requests that carried the 14 change metrics. `change_key` (the change's id, or a hash of the row) makes a
 * re-import add nothing. `risk_models` keeps every trained model, whether it passed its checks or not.
 */
export class LearningChangeHistory1732500000901 implements MigrationInterface {
  name = 'LearningChangeHistory1732500000901';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "learning"."change_history" (
        "project_id" text NOT NULL,
        "change_key" text NOT NULL,
        "changed_at" timestamptz NOT NULL,
        "metrics" float8[] NOT NULL,
        "outcome" text NOT NULL,
        "label" smallint NOT NULL,
        "source" text NOT NULL,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("project_id", "change_key")
      )`);
    await q.query(`CREATE INDEX "change_history_time" ON "learning"."change_history" ("project_id", "changed_at")`);
    await q.query(`CREATE SEQUENCE "learning"."risk_model_sequence"`);
    await q.query(`
      CREATE TABLE "learning"."risk_models" (
        "sequence" bigint PRIMARY KEY,
        "version" text NOT NULL UNIQUE,
        "project_id" text,
        "passed" boolean NOT NULL,
        "check_detail" text NOT NULL,
        "training_rows" integer NOT NULL,
        "validation_auc" float8,
        "validation_brier" float8,
        "model" jsonb,
        "trained_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "learning"."risk_models"`);
    await q.query(`DROP SEQUENCE "learning"."risk_model_sequence"`);
    await q.query(`DROP TABLE "learning"."change_history"`);
  }
}
