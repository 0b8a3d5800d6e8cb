import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CoeSchema1732500000101 implements MigrationInterface {
  name = 'CoeSchema1732500000101';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "coe"."experts" (
        "id" text PRIMARY KEY,
        "expert_type" text NOT NULL,
        "kind" text NOT NULL,
        "level" text NOT NULL,
        "runtime" text NOT NULL,
        "specialties" jsonb NOT NULL DEFAULT '[]'::jsonb,
        "capacity" integer NOT NULL,
        "open_reviews" integer NOT NULL DEFAULT 0 CHECK ("open_reviews" >= 0),
        "active" boolean NOT NULL DEFAULT true,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "coe"."requests" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "requester" text NOT NULL,
        "request" jsonb NOT NULL,
        "risk" jsonb NOT NULL,
        "triggers" jsonb NOT NULL,
        "tier_level" smallint NOT NULL,
        "tier_reasons" jsonb NOT NULL,
        "breach_count" integer NOT NULL DEFAULT 0,
        "forced_escalation" text,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "coe"."assignments" (
        "id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL REFERENCES "coe"."requests" ("request_id"),
        "expert_id" text NOT NULL,
        "expert_type" text NOT NULL,
        "expert_kind" text NOT NULL,
        "runtime" text NOT NULL,
        "role" text NOT NULL,
        "scope" jsonb NOT NULL,
        "tier_level" smallint NOT NULL,
        "priority" text NOT NULL,
        "sla_hours" double precision NOT NULL,
        "assigned_at" timestamptz NOT NULL,
        "sla_due_at" timestamptz NOT NULL,
        "status" text NOT NULL,
        "supersedes_assignment_id" uuid,
        "decision" text,
        "comments" text,
        "conditions" jsonb,
        "confidence" double precision,
        "completed_at" timestamptz
      )`);
    await q.query(`CREATE INDEX "assignments_request" ON "coe"."assignments" ("request_id")`);
    await q.query(`CREATE INDEX "assignments_open" ON "coe"."assignments" ("expert_id") WHERE "status" = 'pending'`);
    await q.query(`
      CREATE TABLE "coe"."compliance_evaluations" (
        "request_id" uuid PRIMARY KEY,
        "evaluation" jsonb NOT NULL,
        "evaluated_at" timestamptz NOT NULL
      )`);
    // The primary key is what makes "exactly one decision per request" hold under any race.
    await q.query(`
      CREATE TABLE "coe"."decisions" (
        "request_id" uuid PRIMARY KEY,
        "outcome" text NOT NULL,
        "tier_level" smallint NOT NULL,
        "decision" jsonb NOT NULL,
        "decided_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['decisions', 'compliance_evaluations', 'assignments', 'requests', 'experts']) await q.query(`DROP TABLE "coe"."${table}"`);
  }
}
