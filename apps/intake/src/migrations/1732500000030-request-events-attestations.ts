import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The story of each request in the order intake learned it (`GET /v1/deployment-requests/{id}/events`): `seq`
 * counts per request from 1 and is the Server-Sent Event id a client resumes from. And the signed attestation
 * of each final decision (`GET /v1/deployment-requests/{id}/attestation`).
 */
export class IntakeRequestEventsAttestations1732500000030 implements MigrationInterface {
  name = 'IntakeRequestEventsAttestations1732500000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "intake"."request_events" (
        "request_id" uuid NOT NULL,
        "seq" integer NOT NULL,
        "type" text NOT NULL,
        "data" jsonb NOT NULL,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY ("request_id", "seq")
      )`);
    await q.query(`
      CREATE TABLE "intake"."attestations" (
        "request_id" uuid PRIMARY KEY,
        "keyid" text NOT NULL,
        "envelope" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "intake"."attestations"`);
    await q.query(`DROP TABLE "intake"."request_events"`);
  }
}
