import type { MigrationInterface, QueryRunner } from 'typeorm';

export class LearningSchema1732500000401 implements MigrationInterface {
  name = 'LearningSchema1732500000401';

  async up(q: QueryRunner): Promise<void> {
    // One row per request, filled column by column as risk.assessed, decision.made and deployment.outcome arrive (in any order).
    await q.query(`
      CREATE TABLE "learning"."patterns" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "request" jsonb NULL,
        "risk" jsonb NULL,
        "features" jsonb NULL,
        "decision" jsonb NULL,
        "decision_outcome" text NULL,
        "tier_level" smallint NULL,
        "deployment_outcome" text NULL,
        "outcome_reported_at" timestamptz NULL,
        "decided_at" timestamptz NULL,
        "captured" boolean NOT NULL DEFAULT false
      )`);
    await q.query(`CREATE INDEX "patterns_component" ON "learning"."patterns" ("project_id", "component_name")`);
    // Per-project counter behind learning.model.updated's revision; replicas keep the highest they have seen.
    await q.query(`
      CREATE TABLE "learning"."project_revisions" (
        "project_id" text PRIMARY KEY,
        "revision" integer NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['project_revisions', 'patterns']) await q.query(`DROP TABLE "learning"."${table}"`);
  }
}
