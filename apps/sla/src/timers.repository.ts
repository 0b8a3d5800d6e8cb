import { onePerKey } from '@agf/messaging';
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
/** `OPEN` for a table aliased `t`. */
const OPEN_T = `t."fired_at" IS NULL AND t."cancelled_at" IS NULL`;

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
   * Stores the timers of many assignments in one statement; those whose completion or cancellation came first
   * (recorded by an earlier statement) are stored cancelled (visible, never fired). Returns the cancel reason of
   * each timer that was new (null: live).
   */
  async insertTimers(m: Queryable, assignments: NewTimers[]): Promise<Array<string | null>> {
    const planned = assignments.flatMap((t) => t.timers.map((timer) => ({ ...t, timer })));
    if (!planned.length) return [];
    const column = <T>(pick: (p: (typeof planned)[number]) => T): T[] => planned.map(pick);
    const rows: { cancel_reason: string | null }[] = await m.query(
      `INSERT INTO "sla"."timers" ("assignment_id", "kind", "request_id", "project_id", "expert_id", "tier_level", "assigned_at", "sla_due_at",
         "due_at", "fraction", "cause_event_id", "cancelled_at", "cancel_reason")
       SELECT p."assignment_id", p."kind", p."request_id", p."project_id", p."expert_id", p."tier_level", p."assigned_at", p."sla_due_at",
              p."due_at", p."fraction", p."cause_event_id", CASE WHEN c."reason" IS NULL THEN NULL ELSE now() END, c."reason"
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::smallint[], $7::timestamptz[], $8::timestamptz[],
                     $9::timestamptz[], $10::float8[], $11::text[])
              AS p("assignment_id", "kind", "request_id", "project_id", "expert_id", "tier_level", "assigned_at", "sla_due_at", "due_at", "fraction", "cause_event_id")
         LEFT JOIN "sla"."cancelled_assignments" c ON c."assignment_id" = p."assignment_id"
       ON CONFLICT DO NOTHING RETURNING "cancel_reason"`,
      [
        column((p) => p.assignmentId),
        column((p) => p.timer.kind),
        column((p) => p.requestId),
        column((p) => p.projectId),
        column((p) => p.expertId),
        column((p) => p.tierLevel),
        column((p) => p.assignedAt),
        column((p) => p.slaDueAt),
        column((p) => p.timer.dueAt.toISOString()),
        column((p) => p.timer.fraction),
        column((p) => p.causeEventId),
      ],
    );
    return rows.map((row) => row.cancel_reason);
  },

  /**
   * Remembers the cancellations (for a review.assigned still to come) and cancels the assignments' open
   * timers, in one statement; the first cancellation of an assignment gives the reason. Returns the reason of
   * each timer cancelled.
   */
  async cancelAssignments(m: Queryable, cancellations: Array<{ assignmentId: string; requestId: string; reason: string }>): Promise<string[]> {
    // A batch may cancel one assignment twice.
    const first = onePerKey(cancellations, (c) => c.assignmentId);
    if (!first.length) return [];
    // The two writes touch different tables, so the CTE's snapshot rule changes nothing here.
    const cancelled: unknown = await m.query(
      `WITH "cancellation" AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS c("assignment_id", "request_id", "reason")),
            "remembered" AS (
              INSERT INTO "sla"."cancelled_assignments" ("assignment_id", "request_id", "reason")
              SELECT "assignment_id", "request_id", "reason" FROM "cancellation" ON CONFLICT DO NOTHING)
       UPDATE "sla"."timers" t SET "cancelled_at" = now(), "cancel_reason" = c."reason"
         FROM "cancellation" c WHERE t."assignment_id" = c."assignment_id" AND ${OPEN_T} RETURNING c."reason"`,
      [first.map((c) => c.assignmentId), first.map((c) => c.requestId), first.map((c) => c.reason)],
    );
    return updatedRows(cancelled).map((row) => row['reason'] as string);
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
