import type { MigrationInterface, QueryRunner } from 'typeorm';

export class IntakeSchema1732500000001 implements MigrationInterface {
  name = 'IntakeSchema1732500000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "intake"."requests" (
        "id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "version" text NOT NULL,
        "requester" text NOT NULL,
        "request" jsonb NOT NULL,
        "status" text NOT NULL DEFAULT 'received',
        "status_rank" smallint NOT NULL DEFAULT 0,
        "risk" jsonb,
        "classification" jsonb,
        "compliance" jsonb,
        "decision" jsonb,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "requests_project_created" ON "intake"."requests" ("project_id", "created_at" DESC)`);
    await q.query(`
      CREATE TABLE "intake"."idempotency_keys" (
        "key" text PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "fingerprint" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "intake"."assignments" (
        "id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "expert_id" text NOT NULL,
        "expert_type" text NOT NULL,
        "expert_kind" text NOT NULL,
        "role" text NOT NULL,
        "status" text NOT NULL,
        "tier_level" smallint NOT NULL,
        "assigned_at" timestamptz NOT NULL,
        "sla_due_at" timestamptz NOT NULL,
        "supersedes_assignment_id" uuid,
        "decision" text,
        "comments" text,
        "conditions" jsonb,
        "completed_at" timestamptz,
        "warned_at" timestamptz,
        "breached_at" timestamptz
      )`);
    await q.query(`CREATE INDEX "assignments_request" ON "intake"."assignments" ("request_id")`);
    // One answer per assignment, enforced here so racing submissions get a clean 409.
    await q.query(`
      CREATE TABLE "intake"."review_submissions" (
        "assignment_id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "expert_id" text NOT NULL,
        "event_id" uuid NOT NULL,
        "submitted_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "intake"."outcomes" (
        "event_id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "status" text NOT NULL,
        "reported_at" timestamptz NOT NULL,
        "details" jsonb
      )`);
    await q.query(`CREATE INDEX "outcomes_request" ON "intake"."outcomes" ("request_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['outcomes', 'review_submissions', 'assignments', 'idempotency_keys', 'requests']) {
      await q.query(`DROP TABLE "intake"."${table}"`);
    }
  }
}
