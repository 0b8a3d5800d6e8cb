import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The history last published per project and component. A decision publishes `learning.model.updated`
 * only when the history it summarises differs from this (first decision of a component, or an incident
 * that left the recent window since); otherwise every decision would cost an event and two deliveries
 * that change nothing in risk's replica.
 */
export class LearningPublishedModels1732500000403 implements MigrationInterface {
  name = 'LearningPublishedModels1732500000403';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "learning"."published_models" (
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "project_stats" jsonb NOT NULL,
        "component_stats" jsonb NOT NULL,
        "revision" integer NOT NULL,
        PRIMARY KEY ("project_id", "component_name")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "learning"."published_models"`);
  }
}
