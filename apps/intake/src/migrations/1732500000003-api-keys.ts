import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys intake issues (`/v1/api-keys`). Only the SHA-256 of a key is kept: the key itself is shown once.
 * Every service learns the keys from `access.key.issued`/`access.key.revoked`, not from this table.
 */
export class IntakeApiKeys1732500000003 implements MigrationInterface {
  name = 'IntakeApiKeys1732500000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "intake"."api_keys" (
        "id" uuid PRIMARY KEY,
        "name" text NOT NULL,
        "subject" text NOT NULL,
        "roles" text[] NOT NULL,
        "projects" text[] NOT NULL,
        "key_hash" text NOT NULL UNIQUE,
        "expires_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "created_by" text NOT NULL,
        "revoked_at" timestamptz
      )`);
    await q.query(`CREATE INDEX "api_keys_created" ON "intake"."api_keys" ("created_at", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "intake"."api_keys"`);
  }
}
