import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every audited event seals its personal values into rows here (15 per tier-0 decision), and each row paid
 * for four index entries. Two of them did not earn it: nothing looks values up by event (erasure and access
 * go through the owners' index), and retention's one delete by age reads a time-ordered table, where a BRIN
 * index (a summary per 128 pages, written once per range) finds the old rows as a B-tree would.
 */
export class CompliancePersonalValuesIndexes1732900000502 implements MigrationInterface {
  name = 'CompliancePersonalValuesIndexes1732900000502';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "compliance"."personal_values_event"`);
    await q.query(`DROP INDEX "compliance"."personal_values_created"`);
    await q.query(`CREATE INDEX "personal_values_created" ON "compliance"."personal_values" USING brin ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "compliance"."personal_values_created"`);
    await q.query(`CREATE INDEX "personal_values_created" ON "compliance"."personal_values" ("created_at")`);
    await q.query(`CREATE INDEX "personal_values_event" ON "compliance"."personal_values" ("event_id")`);
  }
}
