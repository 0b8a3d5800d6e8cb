import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every model update summarises a project's reported outcomes. Through `patterns_component` that read
 * visited every pattern of the project, most of them without an outcome, so its cost grew with the
 * project's history; this index holds only the rows the summary uses.
 */
export class LearningOutcomeIndex1732500000402 implements MigrationInterface {
  name = 'LearningOutcomeIndex1732500000402';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "patterns_reported_outcomes" ON "learning"."patterns" ("project_id", "component_name") WHERE "deployment_outcome" IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "learning"."patterns_reported_outcomes"`);
  }
}
