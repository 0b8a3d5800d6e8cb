import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The human loop in intake's read model: what each assignment asks (scope, priority), why it was made
 * (`purpose`: review, escalation step, after-the-fact review of a break-glass approval) and why it was
 * cancelled; a request's latest escalation and its break-glass approval; and the break-glass requests intake
 * took (one per request, so that a second one is a clean 409). The inbox reads an expert's assignments by
 * SLA due time.
 */
export class IntakeReviewerInbox1732500000020 implements MigrationInterface {
  name = 'IntakeReviewerInbox1732500000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "intake"."assignments"
        ADD COLUMN "scope" jsonb,
        ADD COLUMN "priority" text,
        ADD COLUMN "purpose" text NOT NULL DEFAULT 'review',
        ADD COLUMN "purpose_detail" jsonb,
        ADD COLUMN "cancel_reason" text,
        ADD COLUMN "cancelled_at" timestamptz,
        ADD COLUMN "replaced_by_assignment_id" uuid`);
    await q.query(`CREATE INDEX "assignments_expert_due" ON "intake"."assignments" ("expert_id", "sla_due_at", "id")`);
    await q.query(`ALTER TABLE "intake"."requests" ADD COLUMN "escalation" jsonb, ADD COLUMN "break_glass" jsonb`);
    await q.query(`
      CREATE TABLE "intake"."break_glass_requests" (
        "request_id" uuid PRIMARY KEY,
        "event_id" uuid NOT NULL,
        "justification" text NOT NULL,
        "actor" jsonb NOT NULL,
        "requested_at" timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "intake"."break_glass_requests"`);
    await q.query(`ALTER TABLE "intake"."requests" DROP COLUMN "escalation", DROP COLUMN "break_glass"`);
    await q.query(`DROP INDEX "intake"."assignments_expert_due"`);
    await q.query(`
      ALTER TABLE "intake"."assignments"
        DROP COLUMN "scope", DROP COLUMN "priority", DROP COLUMN "purpose", DROP COLUMN "purpose_detail",
        DROP COLUMN "cancel_reason", DROP COLUMN "cancelled_at", DROP COLUMN "replaced_by_assignment_id"`);
  }
}
