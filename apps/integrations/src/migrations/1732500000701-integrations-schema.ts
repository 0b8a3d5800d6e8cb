import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IntegrationsSchema1732500000701 implements MigrationInterface {
  name = 'IntegrationsSchema1732500000701';

  async up(q: QueryRunner): Promise<void> {
    // One row per waiting deployment; the gate key (GitHub delivery, GitLab project + deployment) makes a redelivered webhook a no-op.
    await q.query(`
      CREATE TABLE "integrations"."gates" (
        "gate_key" text PRIMARY KEY,
        "provider" text NOT NULL CHECK ("provider" IN ('github', 'gitlab')),
        "project_id" text NOT NULL,
        "environment" text NOT NULL,
        "callback_url" text NOT NULL,
        "installation_id" bigint,
        "request_id" uuid UNIQUE,
        "received_at" timestamptz NOT NULL DEFAULT now()
      )`);
    // A decision that arrived before its request was linked to a gate waits here (the two come on different streams).
    await q.query(`
      CREATE TABLE "integrations"."decisions" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "approved" boolean NOT NULL,
        "outcome" text NOT NULL,
        "shadow" boolean NOT NULL,
        "body" jsonb NOT NULL,
        "decided_at" timestamptz NOT NULL
      )`);
    // The callback queue: one row per gate (its primary key is what makes the callback happen once), sent with retries.
    await q.query(`
      CREATE TABLE "integrations"."callbacks" (
        "gate_key" text PRIMARY KEY REFERENCES "integrations"."gates" ("gate_key"),
        "request_id" uuid NOT NULL,
        "approved" boolean NOT NULL,
        "comment" text NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" text,
        "sent_at" timestamptz,
        "failed_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "callbacks_due" ON "integrations"."callbacks" ("next_attempt_at") WHERE "sent_at" IS NULL AND "failed_at" IS NULL`);
    await q.query(`CREATE INDEX "decisions_shadow_project" ON "integrations"."decisions" ("project_id") WHERE "shadow"`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['callbacks', 'decisions', 'gates']) await q.query(`DROP TABLE "integrations"."${table}"`);
  }
}
