import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Escalations that end in a decision, and break-glass: each assignment says what it is for (a review, an
 * escalation whose answer decides, or the review after the fact of a break-glass approval), an escalation its
 * chain step and reason, and who answered; a request keeps the roles nobody could take (they escalate once the
 * other reviews are in); a break-glass that arrives before its request is known waits in `break_glass`.
 */
export class CoeEscalation1732500000130 implements MigrationInterface {
  name = 'CoeEscalation1732500000130';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "coe"."assignments" ADD COLUMN "purpose" text NOT NULL DEFAULT 'review',
      ADD COLUMN "escalation_level" smallint, ADD COLUMN "escalation_reason" text, ADD COLUMN "actor" jsonb`);
    await q.query(`ALTER TABLE "coe"."requests" ADD COLUMN "unfilled_roles" jsonb NOT NULL DEFAULT '[]'::jsonb`);
    await q.query(`
      CREATE TABLE "coe"."break_glass" (
        "request_id" uuid PRIMARY KEY,
        "event" jsonb NOT NULL,
        "received_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "coe"."break_glass"`);
    await q.query(`ALTER TABLE "coe"."requests" DROP COLUMN "unfilled_roles"`);
    await q.query(`ALTER TABLE "coe"."assignments" DROP COLUMN "actor", DROP COLUMN "escalation_reason", DROP COLUMN "escalation_level", DROP COLUMN "purpose"`);
  }
}
