import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Personal values beside the audit chain (docs/compliance.md "Erasure"): entries chained from now on hash a
 * salted commitment in place of each personal value; the value, its salt and the digests of the people it is
 * about are kept here, where erasure and retention can remove them without touching a hash. Entries chained
 * before keep their values in place (and verify as before).
 */
export class CompliancePersonalData1732500001100 implements MigrationInterface {
  name = 'CompliancePersonalData1732500001100';

  async up(q: QueryRunner): Promise<void> {
    // The key people are known by beside the chain (HMAC), from Postgres's strong random source.
    await q.query(`CREATE TABLE "compliance"."privacy_key" ("id" boolean PRIMARY KEY DEFAULT true CHECK ("id"), "hmac_key" text NOT NULL)`);
    await q.query(`INSERT INTO "compliance"."privacy_key" ("hmac_key") VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))`);
    await q.query(`
      CREATE TABLE "compliance"."personal_values" (
        "id" uuid PRIMARY KEY,
        "event_id" text NOT NULL,
        "owners" text[] NOT NULL,
        "value" jsonb NOT NULL,
        "salt" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "personal_values_owners" ON "compliance"."personal_values" USING gin ("owners")`);
    await q.query(`CREATE INDEX "personal_values_event" ON "compliance"."personal_values" ("event_id")`);
    await q.query(`CREATE INDEX "personal_values_created" ON "compliance"."personal_values" ("created_at")`);
    // The people of each change, by digest: free text of a change is owned by all of them.
    await q.query(`CREATE TABLE "compliance"."change_people" ("correlation_id" text NOT NULL, "person" char(64) NOT NULL, PRIMARY KEY ("correlation_id", "person"))`);
    await q.query(`
      CREATE TABLE "compliance"."erasures" (
        "erasure_id" uuid PRIMARY KEY,
        "subject_commitment" char(64) NOT NULL,
        "pseudonym" text NOT NULL,
        "audit_values_removed" integer NOT NULL,
        "requested_at" timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX "erasures_subject" ON "compliance"."erasures" ("subject_commitment")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['erasures', 'change_people', 'personal_values', 'privacy_key']) await q.query(`DROP TABLE "compliance"."${table}"`);
  }
}
