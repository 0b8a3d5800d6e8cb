import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * sla no longer reads `decision.made`: the CoE cancels every assignment still open in the decision's own
 * transaction (`review.cancelled`), and those cancellations are remembered per assignment, so a closure per
 * decided request told sla nothing more. Its rows only ever suppressed timers that those cancellations suppress too.
 */
export class SlaWithoutRequestClosures1732500000330 implements MigrationInterface {
  name = 'SlaWithoutRequestClosures1732500000330';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "sla"."closed_requests"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "sla"."closed_requests" (
        "request_id" uuid PRIMARY KEY,
        "reason" text NOT NULL,
        "closed_at" timestamptz NOT NULL DEFAULT now(),
        "kept_assignment_id" uuid
      )`);
  }
}
