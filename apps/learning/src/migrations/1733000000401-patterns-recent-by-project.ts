import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Similar requests are looked for among a project's newest patterns (at most `SIMILAR_CANDIDATE_SCAN`). Through
 * the index by project and component, that read took every pattern of the project and sorted them: its cost
 * grew with the project's history (about 35,000 rows and 0.8 s for the busiest project of `npm run
 * bench:history`). Request ids are UUIDv7s, so an index by project and id, walked backward, hands over the
 * newest first and the read stops at the cap. Nothing else reads patterns by project and component, so the old
 * index goes: one index entry per pattern, as before.
 */
export class LearningPatternsRecentByProject1733000000401 implements MigrationInterface {
  name = 'LearningPatternsRecentByProject1733000000401';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "patterns_recent_by_project" ON "learning"."patterns" ("project_id", "request_id")`);
    await q.query(`DROP INDEX "learning"."patterns_component"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "patterns_component" ON "learning"."patterns" ("project_id", "component_name")`);
    await q.query(`DROP INDEX "learning"."patterns_recent_by_project"`);
  }
}
