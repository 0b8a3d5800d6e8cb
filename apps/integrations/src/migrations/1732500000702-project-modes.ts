import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Projects switched between enforce and shadow through CoE's API (`registry.project.mode_changed`), for the shadow report. */
export class IntegrationsProjectModes1732500000702 implements MigrationInterface {
  name = 'IntegrationsProjectModes1732500000702';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "integrations"."project_modes" (
        "project_id" text PRIMARY KEY,
        "mode" text NOT NULL CHECK ("mode" IN ('enforce', 'shadow')),
        "changed_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "integrations"."project_modes"`);
  }
}
