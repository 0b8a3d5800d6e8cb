import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention deletes gates and their callbacks by date (`PRUNED_TABLES`): both are keyed by the provider's gate
 * key, not a time-ordered id, so without these indexes each run would read both tables whole.
 */
export class IntegrationsRetentionIndexes1732800000701 implements MigrationInterface {
  name = 'IntegrationsRetentionIndexes1732800000701';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "callbacks_created" ON "integrations"."callbacks" ("created_at")`);
    await q.query(`CREATE INDEX "gates_received" ON "integrations"."gates" ("received_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "integrations"."gates_received"`);
    await q.query(`DROP INDEX "integrations"."callbacks_created"`);
  }
}
