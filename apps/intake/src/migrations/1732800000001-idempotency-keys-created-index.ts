import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention deletes idempotency keys by their date (`PRUNED_TABLES`): a key is the pipeline's, not a
 * time-ordered id, so without this index each run would read every key ever given.
 */
export class IntakeIdempotencyKeysCreatedIndex1732800000001 implements MigrationInterface {
  name = 'IntakeIdempotencyKeysCreatedIndex1732800000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "idempotency_keys_created" ON "intake"."idempotency_keys" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "intake"."idempotency_keys_created"`);
  }
}
