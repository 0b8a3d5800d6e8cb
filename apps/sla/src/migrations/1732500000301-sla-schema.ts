import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SlaSchema1732500000301 implements MigrationInterface {
  name = 'SlaSchema1732500000301';

  async up(q: QueryRunner): Promise<void> {
    // One row per (assignment, kind): the primary key is what makes a replayed review.assigned schedule nothing twice.
    await q.query(`
      CREATE TABLE "sla"."timers" (
        "assignment_id" uuid NOT NULL,
        "kind" text NOT NULL CHECK ("kind" IN ('warning', 'breached')),
        "request_id" uuid NOT NULL,
        "project_id" text NOT NULL,
        "expert_id" text NOT NULL,
        "tier_level" smallint NOT NULL,
        "assigned_at" timestamptz NOT NULL,
        "sla_due_at" timestamptz NOT NULL,
        "due_at" timestamptz NOT NULL,
        "fraction" double precision NOT NULL,
        "cause_event_id" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "fired_at" timestamptz,
        "cancelled_at" timestamptz,
        "cancel_reason" text,
        PRIMARY KEY ("assignment_id", "kind")
      )`);
    // Only open timers are indexed, so claiming due ones and finding the next due time stay cheap however many have fired.
    await q.query(`CREATE INDEX "timers_open_due" ON "sla"."timers" ("due_at") WHERE "fired_at" IS NULL AND "cancelled_at" IS NULL`);
    await q.query(`CREATE INDEX "timers_request" ON "sla"."timers" ("request_id")`);
    // Cancellations are remembered on their own, because review.completed / decision.made may arrive before review.assigned.
    await q.query(`
      CREATE TABLE "sla"."cancelled_assignments" (
        "assignment_id" uuid PRIMARY KEY,
        "request_id" uuid,
        "reason" text NOT NULL,
        "cancelled_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE "sla"."closed_requests" (
        "request_id" uuid PRIMARY KEY,
        "reason" text NOT NULL,
        "closed_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['closed_requests', 'cancelled_assignments', 'timers']) await q.query(`DROP TABLE "sla"."${table}"`);
  }
}
