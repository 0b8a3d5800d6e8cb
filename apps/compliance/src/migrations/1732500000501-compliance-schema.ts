import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ComplianceSchema1732500000501 implements MigrationInterface {
  name = 'ComplianceSchema1732500000501';

  async up(q: QueryRunner): Promise<void> {
    // The audit trail. Times and the payload are kept as the exact text that was hashed (not timestamptz/jsonb,
    // which would normalise them), so verification recomputes the same hashes byte for byte.
    await q.query(`
      CREATE TABLE "compliance"."audit_entries" (
        "sequence" bigint PRIMARY KEY,
        "event_id" text NOT NULL UNIQUE,
        "event_type" text NOT NULL,
        "subject" text NOT NULL,
        "correlation_id" text,
        "occurred_at" text NOT NULL,
        "recorded_at" text NOT NULL,
        "payload" text NOT NULL,
        "previous_hash" char(64) NOT NULL,
        "content_hash" char(64) NOT NULL,
        "entry_hash" char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX "audit_entries_correlation" ON "compliance"."audit_entries" ("correlation_id", "sequence")`);
    // One row: the last entry. The chainer locks it, which orders appends across replicas, and verification compares against it
    // so that deleting the newest entries is detected too.
    await q.query(`
      CREATE TABLE "compliance"."chain_head" (
        "id" boolean PRIMARY KEY DEFAULT true CHECK ("id"),
        "sequence" bigint NOT NULL,
        "entry_hash" char(64) NOT NULL
      )`);
    await q.query(`INSERT INTO "compliance"."chain_head" ("id", "sequence", "entry_hash") VALUES (true, 0, repeat('0', 64))`);
    // Events waiting to be chained. Handlers only insert here (no shared lock on their path); one chainer at a
    // time moves them into audit_entries in arrival order, in batches.
    await q.query(`
      CREATE TABLE "compliance"."audit_pending" (
        "arrival" bigserial PRIMARY KEY,
        "event_id" text NOT NULL UNIQUE,
        "event_type" text NOT NULL,
        "subject" text NOT NULL,
        "correlation_id" text,
        "occurred_at" text NOT NULL,
        "payload" text NOT NULL
      )`);
    // What the control evaluation needs of each request, gathered from events that may arrive in any order.
    await q.query(`
      CREATE TABLE "compliance"."requests" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "request" jsonb,
        "risk_assessed" boolean NOT NULL DEFAULT false,
        "latest_evaluation" jsonb
      )`);
    await q.query(`
      CREATE TABLE "compliance"."assignments" (
        "assignment_id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "superseded" boolean NOT NULL DEFAULT false
      )`);
    await q.query(`CREATE INDEX "assignments_request" ON "compliance"."assignments" ("request_id")`);
    await q.query(`
      CREATE TABLE "compliance"."reviews" (
        "assignment_id" uuid PRIMARY KEY,
        "request_id" uuid NOT NULL,
        "expert_id" text NOT NULL,
        "expert_type" text NOT NULL,
        "decision" text NOT NULL
      )`);
    await q.query(`CREATE INDEX "reviews_request" ON "compliance"."reviews" ("request_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['reviews', 'assignments', 'requests', 'audit_pending', 'chain_head', 'audit_entries']) await q.query(`DROP TABLE "compliance"."${table}"`);
  }
}
