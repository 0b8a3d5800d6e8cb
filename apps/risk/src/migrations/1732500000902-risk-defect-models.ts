import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The newest defect model per scope (a project, or `cross-project`), as learning published it. Kept here so a
 * restarted risk service has its models at once; in memory only a bounded cache of them is held.
 */
export class RiskDefectModels1732500000902 implements MigrationInterface {
  name = 'RiskDefectModels1732500000902';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "risk"."defect_models" (
        "scope" text PRIMARY KEY,
        "sequence" bigint NOT NULL,
        "version" text NOT NULL,
        "model" jsonb NOT NULL,
        "published_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "risk"."defect_models"`);
  }
}
