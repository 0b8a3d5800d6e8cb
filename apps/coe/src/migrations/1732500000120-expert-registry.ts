import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registry managed through the API: who answers for an expert (`principal`), how to reach them, whether
 * they take new work (`available`, `away_from`/`away_until`), and where the row's definition came from
 * (`source`). `config_hash` is the fingerprint of the agf-config.yaml entry last seeded: a change made through
 * the API wins until that entry itself changes.
 */
export class ExpertRegistry1732500000120 implements MigrationInterface {
  name = 'ExpertRegistry1732500000120';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "coe"."experts"
        ADD COLUMN "name" text,
        ADD COLUMN "principal" jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN "email" text,
        ADD COLUMN "phone" text,
        ADD COLUMN "available" boolean NOT NULL DEFAULT true,
        ADD COLUMN "away_from" timestamptz,
        ADD COLUMN "away_until" timestamptz,
        ADD COLUMN "source" text NOT NULL DEFAULT 'config' CHECK ("source" IN ('config', 'api')),
        ADD COLUMN "config_hash" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "coe"."experts"
        DROP COLUMN "config_hash", DROP COLUMN "source", DROP COLUMN "away_until", DROP COLUMN "away_from",
        DROP COLUMN "available", DROP COLUMN "phone", DROP COLUMN "email", DROP COLUMN "principal", DROP COLUMN "name"`);
  }
}
