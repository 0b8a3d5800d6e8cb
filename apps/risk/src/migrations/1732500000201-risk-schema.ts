import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RiskSchema1732500000201 implements MigrationInterface {
  name = 'RiskSchema1732500000201';

  async up(q: QueryRunner): Promise<void> {
    // One assessment per request: the primary key makes a redelivered deployment.requested score nothing twice.
    await q.query(`
      CREATE TABLE "risk"."assessments" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "revision" integer NOT NULL,
        "overall_score" double precision NOT NULL,
        "assessment" jsonb NOT NULL,
        "assessed_at" timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX "assessments_component" ON "risk"."assessments" ("project_id", "component_name", "assessed_at")`);
    // Replica of learning's history, kept current by learning.model.updated; `revision` orders the updates.
    await q.query(`
      CREATE TABLE "risk"."project_history" (
        "project_id" text PRIMARY KEY,
        "revision" integer NOT NULL,
        "stats" jsonb NOT NULL,
        "updated_at" timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE "risk"."component_history" (
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "revision" integer NOT NULL,
        "stats" jsonb NOT NULL,
        "updated_at" timestamptz NOT NULL,
        PRIMARY KEY ("project_id", "component_name")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['component_history', 'project_history', 'assessments']) await q.query(`DROP TABLE "risk"."${table}"`);
  }
}
