import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A decision of a project with a recent incident recounts the project's reported outcomes. Through
 * `patterns_reported_outcomes` each counted outcome cost a visit to its pattern row (request, risk and decision
 * documents: wide rows, one page each); this index carries the columns the count reads, so Postgres answers it
 * from the index alone (found by `npm run bench:history`). The count still grows with the project's outcomes.
 */
export class LearningOutcomeCountsCoveringIndex1732600000401 implements MigrationInterface {
  name = 'LearningOutcomeCountsCoveringIndex1732600000401';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX "patterns_reported_outcomes_counted" ON "learning"."patterns" ("project_id", "component_name")
         INCLUDE ("request_id", "deployment_outcome", "outcome_reported_at") WHERE "deployment_outcome" IS NOT NULL`,
    );
    await q.query(`DROP INDEX "learning"."patterns_reported_outcomes"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "patterns_reported_outcomes" ON "learning"."patterns" ("project_id", "component_name") WHERE "deployment_outcome" IS NOT NULL`);
    await q.query(`DROP INDEX "learning"."patterns_reported_outcomes_counted"`);
  }
}
