import type { ComplianceEvaluated, DecisionMade, RequestStatus, ReviewAssigned, ReviewClassified, ReviewCompleted, ReviewRejected, RiskAssessed, SlaTimerFired } from '@agf/contracts';
import type { EntityManager } from 'typeorm';
import { recordRequestEvents } from '../request-events/request-events.store';

type Queryable = Pick<EntityManager, 'query'>;

/** The events intake's request status read model follows, as its message handlers hand them over. */
export type ReadModelEvent =
  | { name: 'risk.assessed'; data: RiskAssessed }
  | { name: 'review.classified'; data: ReviewClassified }
  | { name: 'review.assigned'; data: ReviewAssigned }
  | { name: 'review.completed'; data: ReviewCompleted }
  | { name: 'review.rejected'; data: ReviewRejected; eventId: string }
  | { name: 'sla.warning'; data: SlaTimerFired }
  | { name: 'sla.breached'; data: SlaTimerFired }
  | { name: 'compliance.evaluated'; data: ComplianceEvaluated }
  | { name: 'decision.made'; data: DecisionMade };

type Of<N extends ReadModelEvent['name']> = Extract<ReadModelEvent, { name: N }>['data'];

const STATUS_RANK = { received: 0, assessing: 1, in_review: 2, decided: 3 } as const satisfies Record<RequestStatus, number>;
type Status = keyof typeof STATUS_RANK;

/**
 * Applies the events of one transaction (a consumer batch, or a single message) to the read model with one
 * statement per kind of event, not per event. Events of different streams arrive in any order, so every
 * update is monotonic (a status never moves back, a completed assignment never becomes pending again) and the
 * kinds are applied in a fixed order: assignments before their answers, the decision (which cancels what is
 * still open) last. Request rows are locked first, in id order, whenever a transaction touches more than one
 * row, so that concurrent batches and single messages always lock a request before its assignments.
 */
export async function projectReadModelEvents(db: Queryable, events: readonly ReadModelEvent[]): Promise<void> {
  const of = <N extends ReadModelEvent['name']>(name: N): Array<Of<N>> => events.filter((e) => e.name === name).map((e) => e.data as Of<N>);
  const completed = of('review.completed');
  if (events.length > 1 || completed.length) {
    await db.query(`SELECT 1 FROM "intake"."requests" WHERE "id" = ANY($1::uuid[]) ORDER BY "id" FOR UPDATE`, [distinct(events.map((e) => e.data.requestId)).sort()]);
  }
  await applyRiskAssessments(db, of('risk.assessed'));
  await applyClassifications(db, of('review.classified'));
  await applyAssignments(db, of('review.assigned'));
  await applyCompletedReviews(db, completed);
  await applyRejectedAnswers(db, events.filter((e) => e.name === 'review.rejected'));
  await applySlaWarnings(db, of('sla.warning'));
  await applySlaBreaches(db, of('sla.breached'));
  await applyComplianceEvaluations(db, of('compliance.evaluated'));
  await applyDecisions(db, of('decision.made'));
  await recordRequestEvents(db, events);
}

async function applyRiskAssessments(db: Queryable, assessments: RiskAssessed[]): Promise<void> {
  if (!assessments.length) return;
  const newest = [...keepBy(assessments, (a) => a.requestId, (a, b) => b.revision >= a.revision).values()];
  await db.query(
    `UPDATE "intake"."requests" r
        SET "risk" = CASE WHEN (r."risk"->>'revision')::int IS NULL OR (r."risk"->>'revision')::int < v."revision" THEN v."risk" ELSE r."risk" END,
            ${advanceStatus(4)}, "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::int[]) AS v("id", "risk", "revision")
      WHERE r."id" = v."id"`,
    [
      newest.map((a) => a.requestId),
      newest.map(({ request: _request, ...risk }) => JSON.stringify(risk)),
      newest.map((a) => a.revision),
      ...statusParams('assessing'),
    ],
  );
}

async function applyClassifications(db: Queryable, classifications: ReviewClassified[]): Promise<void> {
  if (!classifications.length) return;
  const latest = [...keepBy(classifications, (c) => c.requestId, () => true).values()];
  await db.query(
    `UPDATE "intake"."requests" r SET "classification" = v."classification", "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[]) AS v("id", "classification") WHERE r."id" = v."id"`,
    [latest.map((c) => c.requestId), latest.map((c) => JSON.stringify(c))],
  );
}

async function applyAssignments(db: Queryable, assignments: ReviewAssigned[]): Promise<void> {
  if (!assignments.length) return;
  // Advancing the status locks the request row, so a decision's update of it is ordered against this, and
  // RETURNING shows the row as that decision left it. An assignment announced after the decision (streams
  // are consumed independently) was cancelled by it.
  await db.query(
    `WITH "request" AS (
       UPDATE "intake"."requests" SET ${advanceStatus(11)}, "updated_at" = now() WHERE "id" = ANY($1::uuid[])
       RETURNING "id", "decision" IS NOT NULL AS "decided")
     INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "supersedes_assignment_id")
     SELECT a."id", a."request_id", a."expert_id", a."expert_type", a."expert_kind", a."role",
            CASE WHEN COALESCE(r."decided", false) THEN 'cancelled' ELSE 'pending' END,
            a."tier_level", a."assigned_at", a."sla_due_at", a."supersedes"
       FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int2[], $9::timestamptz[], $10::timestamptz[], $13::uuid[])
            AS a("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "tier_level", "assigned_at", "sla_due_at", "supersedes")
       LEFT JOIN "request" r ON r."id" = a."request_id"
     ON CONFLICT ("id") DO NOTHING`,
    [
      distinct(assignments.map((a) => a.requestId)),
      assignments.map((a) => a.assignmentId),
      assignments.map((a) => a.requestId),
      assignments.map((a) => a.expertId),
      assignments.map((a) => a.expertType),
      assignments.map((a) => a.expertKind),
      assignments.map((a) => a.role),
      assignments.map((a) => a.tierLevel),
      assignments.map((a) => a.assignedAt),
      assignments.map((a) => a.slaDueAt),
      ...statusParams('in_review'),
      assignments.map((a) => a.supersedesAssignmentId ?? null),
    ],
  );
  const superseded = assignments.flatMap((a) => (a.supersedesAssignmentId ? [a.supersedesAssignmentId] : []));
  if (superseded.length) {
    // Also when the decision, seen first, cancelled it: CoE reassigns only before it decides.
    await db.query(`UPDATE "intake"."assignments" SET "status" = 'reassigned' WHERE "id" = ANY($1::uuid[]) AND "status" IN ('pending', 'breached', 'cancelled')`, [superseded]);
  }
}

async function applyCompletedReviews(db: Queryable, reviews: ReviewCompleted[]): Promise<void> {
  if (!reviews.length) return;
  const answers = [...keepBy(reviews, (r) => r.assignmentId, () => true).values()];
  // The assignment row may not be here yet (streams are independent); keep the answer in a placeholder.
  await db.query(
    `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "decision", "comments", "conditions", "completed_at")
     SELECT c."id", c."request_id", c."expert_id", c."expert_type", c."expert_kind", 'unknown', 'completed', 0, c."completed_at", c."completed_at", c."decision", c."comments", c."conditions", c."completed_at"
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::jsonb[])
            AS c("id", "request_id", "expert_id", "expert_type", "expert_kind", "completed_at", "decision", "comments", "conditions")
     ON CONFLICT ("id") DO UPDATE SET "status" = 'completed', "decision" = EXCLUDED."decision", "comments" = EXCLUDED."comments",
       "conditions" = EXCLUDED."conditions", "completed_at" = EXCLUDED."completed_at"`,
    [
      answers.map((r) => r.assignmentId),
      answers.map((r) => r.requestId),
      answers.map((r) => r.expertId),
      answers.map((r) => r.expertType),
      answers.map((r) => r.expertKind),
      answers.map((r) => r.completedAt),
      answers.map((r) => r.decision),
      answers.map((r) => r.comments),
      answers.map((r) => JSON.stringify(r.conditions)),
    ],
  );
}

async function applyRejectedAnswers(db: Queryable, rejections: Array<Extract<ReadModelEvent, { name: 'review.rejected' }>>): Promise<void> {
  if (!rejections.length) return;
  // Kept only for requests intake knows: an answer naming a request that does not exist has no view to show in.
  await db.query(
    `INSERT INTO "intake"."rejected_answers" ("event_id", "request_id", "assignment_id", "expert_id", "code", "reason", "rejected_at")
     SELECT v."event_id", v."request_id", v."assignment_id", v."expert_id", v."code", v."reason", v."rejected_at"
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
            AS v("event_id", "request_id", "assignment_id", "expert_id", "code", "reason", "rejected_at")
      WHERE EXISTS (SELECT 1 FROM "intake"."requests" r WHERE r."id" = v."request_id")
     ON CONFLICT ("event_id") DO NOTHING`,
    [
      rejections.map((r) => r.eventId),
      rejections.map((r) => r.data.requestId),
      rejections.map((r) => r.data.assignmentId),
      rejections.map((r) => r.data.expertId),
      rejections.map((r) => r.data.code),
      rejections.map((r) => r.data.reason),
      rejections.map((r) => r.data.rejectedAt),
    ],
  );
}

async function applySlaWarnings(db: Queryable, warnings: SlaTimerFired[]): Promise<void> {
  if (!warnings.length) return;
  const latest = [...keepBy(warnings, (w) => w.assignmentId, () => true).values()];
  await db.query(
    `UPDATE "intake"."assignments" a SET "warned_at" = v."fired_at"
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v("id", "fired_at") WHERE a."id" = v."id"`,
    [latest.map((w) => w.assignmentId), latest.map((w) => w.firedAt)],
  );
}

async function applySlaBreaches(db: Queryable, breaches: SlaTimerFired[]): Promise<void> {
  if (!breaches.length) return;
  const latest = [...keepBy(breaches, (b) => b.assignmentId, () => true).values()];
  await db.query(
    `UPDATE "intake"."assignments" a
        SET "breached_at" = v."fired_at", "status" = CASE WHEN a."status" = 'pending' THEN 'breached' ELSE a."status" END
       FROM unnest($1::uuid[], $2::timestamptz[]) AS v("id", "fired_at") WHERE a."id" = v."id"`,
    [latest.map((b) => b.assignmentId), latest.map((b) => b.firedAt)],
  );
}

async function applyComplianceEvaluations(db: Queryable, evaluations: ComplianceEvaluated[]): Promise<void> {
  if (!evaluations.length) return;
  const newest = [...keepBy(evaluations, (e) => e.requestId, (a, b) => b.evaluatedAt >= a.evaluatedAt).values()];
  await db.query(
    `UPDATE "intake"."requests" r SET "compliance" = v."evaluation", "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::text[]) AS v("id", "evaluation", "evaluated_at")
      WHERE r."id" = v."id" AND (r."compliance" IS NULL OR (r."compliance"->>'evaluatedAt') <= v."evaluated_at")`,
    [newest.map((e) => e.requestId), newest.map((e) => JSON.stringify(e)), newest.map((e) => e.evaluatedAt)],
  );
}

async function applyDecisions(db: Queryable, decisions: DecisionMade[]): Promise<void> {
  if (!decisions.length) return;
  // A request has one decision: the first one stored stays.
  const first = [...keepBy(decisions, (d) => d.requestId, () => false).values()];
  const requestIds = first.map((d) => d.requestId);
  await db.query(
    `UPDATE "intake"."requests" r SET "decision" = COALESCE(r."decision", v."decision"), ${advanceStatus(3)}, "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[]) AS v("id", "decision") WHERE r."id" = v."id"`,
    [requestIds, first.map((d) => JSON.stringify(d)), ...statusParams('decided')],
  );
  // CoE cancels what is still open when it decides; reviewers must not see those as waiting for them.
  await db.query(`UPDATE "intake"."assignments" SET "status" = 'cancelled' WHERE "request_id" = ANY($1::uuid[]) AND "status" IN ('pending', 'breached')`, [
    requestIds,
  ]);
}

/**
 * SET clause that moves the status forward, never back, folded into an update of the request row:
 * parameter `$n` is the status and `$n+1` its rank (`statusParams`).
 */
function advanceStatus(n: number): string {
  return `"status" = CASE WHEN "status_rank" < $${n + 1} THEN $${n} ELSE "status" END, "status_rank" = GREATEST("status_rank", $${n + 1})`;
}

function statusParams(status: Status): [Status, number] {
  return [status, STATUS_RANK[status]];
}

/** One item per key: a later item replaces the kept one when `replaces(kept, later)` says so. */
function keepBy<T>(items: readonly T[], key: (item: T) => string, replaces: (kept: T, later: T) => boolean): Map<string, T> {
  const kept = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    const current = kept.get(k);
    if (current === undefined || replaces(current, item)) kept.set(k, item);
  }
  return kept;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
