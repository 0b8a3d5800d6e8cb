import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A project's outcome counts, kept as running totals per component (`outcome_totals`, updated with each first
 * outcome) instead of recounted from every reported outcome on each model update: a decision of a project with a
 * recent incident then costs the same after five years of history as on the first day (`npm run bench:history`).
 * Only the recent incidents are still counted, through `patterns_recent_incidents`, which holds incidents alone
 * and is read by report time, so the count reads the window and nothing older.
 */
export class LearningOutcomeTotals1732700000401 implements MigrationInterface {
  name = 'LearningOutcomeTotals1732700000401';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "learning"."outcome_totals" (
         "project_id" text NOT NULL,
         "component_name" text NOT NULL,
         "deployments" integer NOT NULL,
         "failures" integer NOT NULL,
         "rollbacks" integer NOT NULL,
         "last_failure_at" timestamptz,
         PRIMARY KEY ("project_id", "component_name"))`,
    );
    await q.query(
      `INSERT INTO "learning"."outcome_totals" ("project_id", "component_name", "deployments", "failures", "rollbacks", "last_failure_at")
       SELECT "project_id", "component_name", count(*)::int, (count(*) FILTER (WHERE "deployment_outcome" = 'failed'))::int,
              (count(*) FILTER (WHERE "deployment_outcome" = 'rolled_back'))::int,
              max("outcome_reported_at") FILTER (WHERE "deployment_outcome" IN ('failed', 'rolled_back'))
         FROM "learning"."patterns" WHERE "deployment_outcome" IS NOT NULL
        GROUP BY "project_id", "component_name"`,
    );
    await q.query(
      `CREATE INDEX "patterns_recent_incidents" ON "learning"."patterns" ("project_id", "outcome_reported_at") INCLUDE ("component_name")
         WHERE "deployment_outcome" IN ('failed', 'rolled_back')`,
    );
    await q.query(`DROP INDEX "learning"."patterns_reported_outcomes_counted"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "patterns_reported_outcomes_counted" ON "learning"."patterns" ("project_id", "component_name")
         INCLUDE ("request_id", "deployment_outcome", "outcome_reported_at") WHERE "deployment_outcome" IS NOT NULL`,
    );
    await q.query(`DROP INDEX "learning"."patterns_recent_incidents"`);
    await q.query(`DROP TABLE "learning"."outcome_totals"`);
  }
}
