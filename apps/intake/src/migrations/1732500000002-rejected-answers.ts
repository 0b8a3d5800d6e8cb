import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Answers the CoE did not take (`review.rejected`), so that a request's view can say why an answer sent over
 * HTTP (accepted with a `202`) or over NATS changed nothing.
 */
export class IntakeRejectedAnswers1732500000002 implements MigrationInterface {
  name = 'IntakeRejectedAnswers1732500000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "intake"."rejected_answers" (
        "event_id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "assignment_id" uuid NOT NULL,
        "expert_id" text NOT NULL,
        "code" text NOT NULL,
        "reason" text NOT NULL,
        "rejected_at" timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX "rejected_answers_request" ON "intake"."rejected_answers" ("request_id", "rejected_at" DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "intake"."rejected_answers"`);
  }
}
