import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { DecisionWaiters } from '../decisions/decision-waiters';

const STATUS_RANK = { received: 0, assessing: 1, in_review: 2, decided: 3 } as const;
type Status = keyof typeof STATUS_RANK;

/**
 * Keeps intake's request status read model current from the domain events. Events of different streams
 * arrive in any order, so every update is monotonic: a status never moves back, a completed assignment
 * never becomes pending again.
 */
@Controller()
export class ReadModelMessageController {
  constructor(private readonly waiters: DecisionWaiters) {}

  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    const { request: _request, ...risk } = event.data;
    await ctx.manager.query(
      `UPDATE "intake"."requests"
          SET "risk" = CASE WHEN ("risk"->>'revision')::int IS NULL OR ("risk"->>'revision')::int < $3 THEN $2::jsonb ELSE "risk" END,
              ${advanceStatus(4)}, "updated_at" = now()
        WHERE "id" = $1`,
      [event.data.requestId, JSON.stringify(risk), event.data.revision, ...statusParams('assessing')],
    );
  }

  @OnMessage('review.classified')
  async classified(event: CloudEvent<'review.classified'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(`UPDATE "intake"."requests" SET "classification" = $2, "updated_at" = now() WHERE "id" = $1`, [
      event.data.requestId,
      JSON.stringify(event.data),
    ]);
  }

  @OnMessage('review.assigned')
  async assigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    const a = event.data;
    // One statement, request row first: advancing the status locks it, so the decision's update of it is
    // ordered against this one, and RETURNING shows the row as that decision left it (the newest version,
    // not the statement's snapshot). An assignment announced after the decision (streams are consumed
    // independently) was cancelled by it.
    await ctx.manager.query(
      `WITH "request" AS (
         UPDATE "intake"."requests" SET ${advanceStatus(11)}, "updated_at" = now() WHERE "id" = $2 RETURNING "decision" IS NOT NULL AS "decided")
       INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "supersedes_assignment_id")
       VALUES ($1, $2, $3, $4, $5, $6,
         CASE WHEN COALESCE((SELECT "decided" FROM "request"), false) THEN 'cancelled' ELSE 'pending' END,
         $7, $8, $9, $10) ON CONFLICT ("id") DO NOTHING`,
      [a.assignmentId, a.requestId, a.expertId, a.expertType, a.expertKind, a.role, a.tierLevel, a.assignedAt, a.slaDueAt, a.supersedesAssignmentId ?? null, ...statusParams('in_review')],
    );
    if (a.supersedesAssignmentId) {
      await ctx.manager.query(`UPDATE "intake"."assignments" SET "status" = 'reassigned' WHERE "id" = $1 AND "status" IN ('pending', 'breached')`, [
        a.supersedesAssignmentId,
      ]);
    }
  }

  @OnMessage('review.completed')
  async completed(event: CloudEvent<'review.completed'>, ctx: MessageContext): Promise<void> {
    const r = event.data;
    // Request row first, then assignments, as the decision does: a batch holding this assignment while it
    // waits for the request row (for another event of the request) could otherwise deadlock with the decision.
    await ctx.manager.query(`SELECT 1 FROM "intake"."requests" WHERE "id" = $1 FOR UPDATE`, [r.requestId]);
    // The assignment row may not be here yet (streams are independent); keep the answer in a placeholder.
    await ctx.manager.query(
      `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "decision", "comments", "conditions", "completed_at")
       VALUES ($1, $2, $3, $4, $5, 'unknown', 'completed', 0, $6, $6, $7, $8, $9, $6)
       ON CONFLICT ("id") DO UPDATE SET "status" = 'completed', "decision" = EXCLUDED."decision", "comments" = EXCLUDED."comments",
         "conditions" = EXCLUDED."conditions", "completed_at" = EXCLUDED."completed_at"`,
      [r.assignmentId, r.requestId, r.expertId, r.expertType, r.expertKind, r.completedAt, r.decision, r.comments, JSON.stringify(r.conditions)],
    );
  }

  @OnMessage('sla.warning')
  async slaWarning(event: CloudEvent<'sla.warning'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(`UPDATE "intake"."assignments" SET "warned_at" = $2 WHERE "id" = $1`, [event.data.assignmentId, event.data.firedAt]);
  }

  @OnMessage('sla.breached')
  async slaBreached(event: CloudEvent<'sla.breached'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(
      `UPDATE "intake"."assignments" SET "breached_at" = $2, "status" = CASE WHEN "status" = 'pending' THEN 'breached' ELSE "status" END WHERE "id" = $1`,
      [event.data.assignmentId, event.data.firedAt],
    );
  }

  @OnMessage('compliance.evaluated')
  async compliance(event: CloudEvent<'compliance.evaluated'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(
      `UPDATE "intake"."requests" SET "compliance" = $2, "updated_at" = now()
        WHERE "id" = $1 AND ("compliance" IS NULL OR ("compliance"->>'evaluatedAt') <= $3)`,
      [event.data.requestId, JSON.stringify(event.data), event.data.evaluatedAt],
    );
  }

  @OnMessage('decision.made')
  async decision(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    // Locks the request row first, so an assignment announced concurrently either sees the decision or is cancelled below.
    await ctx.manager.query(
      `UPDATE "intake"."requests" SET "decision" = COALESCE("decision", $2::jsonb), ${advanceStatus(3)}, "updated_at" = now() WHERE "id" = $1`,
      [event.data.requestId, JSON.stringify(event.data), ...statusParams('decided')],
    );
    // CoE cancels what is still open when it decides; reviewers must not see those as waiting for them.
    await ctx.manager.query(`UPDATE "intake"."assignments" SET "status" = 'cancelled' WHERE "request_id" = $1 AND "status" IN ('pending', 'breached')`, [
      event.data.requestId,
    ]);
    this.waiters.resolve(event.data);
  }
}

/**
 * SET clause that moves the status forward, never back, folded into a handler's one UPDATE of the request
 * row: parameter `$n` is the status and `$n+1` its rank (`statusParams`).
 */
function advanceStatus(n: number): string {
  return `"status" = CASE WHEN "status_rank" < $${n + 1} THEN $${n} ELSE "status" END, "status_rank" = GREATEST("status_rank", $${n + 1})`;
}

function statusParams(status: Status): [Status, number] {
  return [status, STATUS_RANK[status]];
}
