import type { PlannedTimer, StoredTimer, TimerKind } from '@agf/sla-domain';
import type { EntityManager } from 'typeorm';

export interface TimerRow extends StoredTimer {
  fraction: number;
  causeEventId: string | null;
  createdAt: Date;
  firedAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
}

export interface NewTimers {
  assignmentId: string;
  requestId: string;
  projectId: string;
  expertId: string;
  tierLevel: 0 | 1 | 2;
  assignedAt: string;
  slaDueAt: string;
  causeEventId: string;
  timers: PlannedTimer[];
}

/** Anything with `query`: an EntityManager inside a transaction, or the DataSource for reads. */
type Queryable = Pick<EntityManager, 'query'>;

const OPEN = `"fired_at" IS NULL AND "cancelled_at" IS NULL`;

function toTimer(r: Record<string, unknown>): TimerRow {
  return {
    assignmentId: r['assignment_id'] as string,
    kind: r['kind'] as TimerKind,
    requestId: r['request_id'] as string,
    projectId: r['project_id'] as string,
    expertId: r['expert_id'] as string,
    tierLevel: Number(r['tier_level']) as 0 | 1 | 2,
    assignedAt: r['assigned_at'] as Date,
    slaDueAt: r['sla_due_at'] as Date,
    dueAt: r['due_at'] as Date,
    fraction: Number(r['fraction']),
    causeEventId: (r['cause_event_id'] as string | null) ?? null,
    createdAt: r['created_at'] as Date,
    firedAt: (r['fired_at'] as Date | null) ?? null,
    cancelledAt: (r['cancelled_at'] as Date | null) ?? null,
    cancelReason: (r['cancel_reason'] as string | null) ?? null,
  };
}

/** SQL of the `sla` schema; writes run in the caller's transaction. */
export const timersRepository = {
  /**
   * Stores the timers; they are cancelled from the start when the assignment's review or its request's
   * decision came first (visible, never fired). Returns how many were new, and that cancellation's reason.
   */
  async insertTimers(m: Queryable, t: NewTimers): Promise<{ stored: number; cancelReason: string | null }> {
    const values: unknown[] = [t.assignmentId, t.requestId, t.projectId, t.expertId, t.tierLevel, t.assignedAt, t.slaDueAt, t.causeEventId];
    const tuples = t.timers.map((timer) => {
      values.push(timer.kind, timer.dueAt.toISOString(), timer.fraction);
      const n = values.length;
      return `($1, $${n - 2}, $2, $3, $4, $5, $6, $7, $${n - 1}, $${n}, $8,
        CASE WHEN (SELECT "reason" FROM "cancellation") IS NULL THEN NULL ELSE now() END, (SELECT "reason" FROM "cancellation"))`;
    });
    const rows: { cancel_reason: string | null }[] = await m.query(
      `WITH "cancellation" AS (
         SELECT COALESCE(
           (SELECT "reason" FROM "sla"."cancelled_assignments" WHERE "assignment_id" = $1),
           (SELECT "reason" FROM "sla"."closed_requests" WHERE "request_id" = $2)) AS "reason")
       INSERT INTO "sla"."timers" ("assignment_id", "kind", "request_id", "project_id", "expert_id", "tier_level", "assigned_at", "sla_due_at",
         "due_at", "fraction", "cause_event_id", "cancelled_at", "cancel_reason")
       VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING RETURNING "cancel_reason"`,
      values,
    );
    return { stored: rows.length, cancelReason: rows[0]?.cancel_reason ?? null };
  },

  /** Remembers the cancellation (for a review.assigned still to come) and cancels the open timers; returns how many. */
  async cancelAssignment(m: Queryable, assignmentId: string, requestId: string | null, reason: string): Promise<number> {
    // One statement: the two writes touch different tables, so the CTE's snapshot rule changes nothing here.
    const cancelled: unknown[] = await m.query(
      `WITH "remembered" AS (
         INSERT INTO "sla"."cancelled_assignments" ("assignment_id", "request_id", "reason") VALUES ($1, $3, $2) ON CONFLICT DO NOTHING)
       UPDATE "sla"."timers" SET "cancelled_at" = now(), "cancel_reason" = $2 WHERE "assignment_id" = $1 AND ${OPEN} RETURNING 1`,
      [assignmentId, reason, requestId],
    );
    return countOf(cancelled);
  },

  /** Closes a request (decided): every open timer of it is cancelled, and any assignment announced later too. */
  async closeRequest(m: Queryable, requestId: string, reason: string): Promise<number> {
    const cancelled: unknown[] = await m.query(
      `WITH "closed" AS (
         INSERT INTO "sla"."closed_requests" ("request_id", "reason") VALUES ($1, $2) ON CONFLICT DO NOTHING)
       UPDATE "sla"."timers" SET "cancelled_at" = now(), "cancel_reason" = $2 WHERE "request_id" = $1 AND ${OPEN} RETURNING 1`,
      [requestId, reason],
    );
    return countOf(cancelled);
  },

  /**
   * Marks up to `limit` due timers fired and returns them. `FOR UPDATE SKIP LOCKED` lets replicas claim
   * disjoint batches; a timer being cancelled concurrently is either skipped now (locked) or, once that
   * commits, no longer open. A crash before commit leaves the rows open for the next claim.
   */
  async claimDue(m: Queryable, limit: number): Promise<TimerRow[]> {
    const rows: unknown = await m.query(
      `WITH "due" AS (
         SELECT "assignment_id", "kind" FROM "sla"."timers"
          WHERE "due_at" <= now() AND ${OPEN}
          ORDER BY "due_at" LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE "sla"."timers" AS t SET "fired_at" = clock_timestamp()
         FROM "due" WHERE t."assignment_id" = "due"."assignment_id" AND t."kind" = "due"."kind"
       RETURNING t.*`,
      [limit],
    );
    return updatedRows(rows)
      .map(toTimer)
      .sort((a, b) => (a.dueAt as Date).getTime() - (b.dueAt as Date).getTime() || a.fraction - b.fraction);
  },

  /** The earliest open due time, with the database clock it should be compared with. */
  async nextDue(m: Queryable): Promise<{ nextDueAt: Date | null; now: Date }> {
    const rows: { next: Date | null; now: Date }[] = await m.query(
      `SELECT (SELECT min("due_at") FROM "sla"."timers" WHERE ${OPEN}) AS "next", clock_timestamp() AS "now"`,
    );
    return { nextDueAt: rows[0]?.next ?? null, now: rows[0]?.now ?? new Date() };
  },

  async openCounts(m: Queryable): Promise<{ open: number; overdue: number }> {
    const rows: { open: string; overdue: string }[] = await m.query(
      `SELECT count(*) AS "open", count(*) FILTER (WHERE "due_at" <= now()) AS "overdue" FROM "sla"."timers" WHERE ${OPEN}`,
    );
    return { open: Number(rows[0]?.open ?? 0), overdue: Number(rows[0]?.overdue ?? 0) };
  },

  async timersOfRequest(m: Queryable, requestId: string): Promise<TimerRow[]> {
    const rows: Record<string, unknown>[] = await m.query(
      `SELECT * FROM "sla"."timers" WHERE "request_id" = $1 ORDER BY "assigned_at", "assignment_id", "due_at"`,
      [requestId],
    );
    return rows.map(toTimer);
  },
};

/** TypeORM answers an UPDATE … RETURNING on Postgres with [rows, affectedCount]. */
function updatedRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as Record<string, unknown>[];
  return (result as Record<string, unknown>[]) ?? [];
}

function countOf(result: unknown): number {
  return updatedRows(result).length;
}
