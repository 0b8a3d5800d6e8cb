import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RolloutSchema1732500001000 implements MigrationInterface {
  name = 'RolloutSchema1732500001000';

  async up(q: QueryRunner): Promise<void> {
    // Replica of what risk assessed (the request, its metadata and pre-deployment score): the highest revision wins.
    await q.query(`
      CREATE TABLE "rollout"."requests" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "version" text NOT NULL,
        "requester" text NOT NULL,
        "metadata" jsonb NOT NULL,
        "risk_score" double precision NOT NULL,
        "risk_revision" integer NOT NULL
      )`);
    // Replica of decisions: what was approved, its monitoring requirements and rollback plan.
    await q.query(`
      CREATE TABLE "rollout"."decisions" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "version" text NOT NULL,
        "approved" boolean NOT NULL,
        "outcome" text NOT NULL,
        "body" jsonb NOT NULL,
        "decided_at" timestamptz NOT NULL
      )`);
    await q.query(`
      CREATE TABLE "rollout"."rollouts" (
        "request_id" uuid PRIMARY KEY,
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "version" text NOT NULL,
        "status" text NOT NULL CHECK ("status" IN ('in-progress', 'paused', 'rollback-requested', 'completed', 'aborted', 'rolled-back')),
        "percent" double precision,
        "emergency" boolean NOT NULL,
        "revision" integer NOT NULL DEFAULT 0,
        "verdict" text,
        "live_score" double precision,
        "consecutive_inconclusive" integer NOT NULL DEFAULT 0,
        "criteria" jsonb NOT NULL DEFAULT '[]',
        "next_evaluation_at" timestamptz NOT NULL,
        "started_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "rollouts_due" ON "rollout"."rollouts" ("next_evaluation_at") WHERE "status" IN ('in-progress', 'paused')`);
    await q.query(`CREATE INDEX "rollouts_component" ON "rollout"."rollouts" ("project_id", "component_name", "started_at" DESC)`);
    await q.query(`
      CREATE TABLE "rollout"."signals" (
        "id" bigserial PRIMARY KEY,
        "request_id" uuid NOT NULL REFERENCES "rollout"."rollouts" ("request_id"),
        "name" text NOT NULL,
        "value" double precision NOT NULL,
        "unit" text,
        "at" timestamptz NOT NULL,
        "source" text NOT NULL CHECK ("source" IN ('pushed', 'prometheus')),
        "received_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX "signals_latest" ON "rollout"."signals" ("request_id", "name", "at" DESC)`);
    // One rollback per request: its own timeline against the target, with a warning and a breach timer.
    await q.query(`
      CREATE TABLE "rollout"."rollbacks" (
        "request_id" uuid PRIMARY KEY REFERENCES "rollout"."rollouts" ("request_id"),
        "project_id" text NOT NULL,
        "component_name" text NOT NULL,
        "reason" text NOT NULL,
        "signal_at" timestamptz NOT NULL,
        "requested_at" timestamptz NOT NULL,
        "warn_at" timestamptz NOT NULL,
        "due_at" timestamptz NOT NULL,
        "warned_at" timestamptz,
        "breached_at" timestamptz,
        "completed_at" timestamptz,
        "confirmed_by" text
      )`);
    await q.query(`CREATE INDEX "rollbacks_open" ON "rollout"."rollbacks" ("warn_at") WHERE "completed_at" IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['rollbacks', 'signals', 'rollouts', 'decisions', 'requests']) await q.query(`DROP TABLE "rollout"."${table}"`);
  }
}
