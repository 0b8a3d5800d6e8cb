import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention deletes change history by its date across projects (`PRUNED_TABLES`); `change_history_time`
 * leads with the project, so without this index each run would read the whole table.
 */
export class LearningChangeHistoryChangedIndex1732800000401 implements MigrationInterface {
  name = 'LearningChangeHistoryChangedIndex1732800000401';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "change_history_changed" ON "learning"."change_history" ("changed_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "learning"."change_history_changed"`);
  }
}
