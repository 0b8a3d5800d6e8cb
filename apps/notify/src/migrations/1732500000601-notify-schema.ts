import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NotifySchema1732500000601 implements MigrationInterface {
  name = 'NotifySchema1732500000601';

  async up(q: QueryRunner): Promise<void> {
    // The delivery queue. (event, channel, recipient) is unique: a redelivered event plans nothing twice.
    await q.query(`
      CREATE TABLE "notify"."deliveries" (
        "id" uuid PRIMARY KEY,
        "event_id" text NOT NULL,
        "event" text NOT NULL,
        "channel" text NOT NULL,
        "channel_kind" text NOT NULL,
        "recipient" text NOT NULL,
        "address" text,
        "action" text,
        "request_id" uuid NOT NULL,
        "project_id" text NOT NULL,
        "severity" text NOT NULL,
        "notice" jsonb NOT NULL,
        "status" text NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'sent', 'dead')),
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_attempt_at" timestamptz,
        "sent_at" timestamptz,
        "dead_at" timestamptz,
        "last_error" text,
        CONSTRAINT "deliveries_once" UNIQUE ("event_id", "channel", "recipient")
      )`);
    // Only pending rows are indexed: claiming due ones stays cheap however many were sent.
    await q.query(`CREATE INDEX "deliveries_due" ON "notify"."deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await q.query(`CREATE INDEX "deliveries_status" ON "notify"."deliveries" ("status", "created_at")`);
    await q.query(`CREATE INDEX "deliveries_request" ON "notify"."deliveries" ("request_id")`);
    // Webhooks registered through the API, per project. The secret signs; it is never returned or logged.
    await q.query(`
      CREATE TABLE "notify"."subscriptions" (
        "id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "url" text NOT NULL,
        "secret" text NOT NULL,
        "events" text[] NOT NULL,
        "created_by" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "subscriptions_project" ON "notify"."subscriptions" ("project_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "notify"."subscriptions"`);
    await q.query(`DROP TABLE "notify"."deliveries"`);
  }
}
