import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A project's gate mode as an admin set it through the API; it outranks the project's `mode` in agf-config.yaml. */
export class CoeProjectModes1732500000140 implements MigrationInterface {
  name = 'CoeProjectModes1732500000140';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "coe"."project_modes" (
        "project_id" text PRIMARY KEY,
        "mode" text NOT NULL CHECK ("mode" IN ('enforce', 'shadow')),
        "changed_by" jsonb NOT NULL,
        "changed_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "coe"."project_modes"`);
  }
}
