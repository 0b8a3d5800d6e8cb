import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A reviewer's inbox lists their open assignments. Through `assignments_expert_due` that read visited every
 * assignment the expert ever had (years of answered ones) to keep the few still open; this index holds only
 * those, so the inbox costs the same however long the expert's history (found by `npm run bench:history`).
 */
export class IntakeOpenAssignmentsIndex1732600000001 implements MigrationInterface {
  name = 'IntakeOpenAssignmentsIndex1732600000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "assignments_open_expert_due" ON "intake"."assignments" ("expert_id", "sla_due_at", "id") WHERE "status" IN ('pending', 'breached')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "intake"."assignments_open_expert_due"`);
  }
}
