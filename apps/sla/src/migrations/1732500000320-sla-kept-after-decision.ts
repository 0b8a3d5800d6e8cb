import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A decision closes its request's timers, except those of the one assignment that lives on after it: the
 * review after the fact of a break-glass approval, which has an SLA of its own.
 */
export class SlaKeptAfterDecision1732500000320 implements MigrationInterface {
  name = 'SlaKeptAfterDecision1732500000320';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "sla"."closed_requests" ADD COLUMN "kept_assignment_id" uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "sla"."closed_requests" DROP COLUMN "kept_assignment_id"`);
  }
}
