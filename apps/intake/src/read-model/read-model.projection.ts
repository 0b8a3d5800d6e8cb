import type {
  BreakGlassRequested,
  ComplianceEvaluated,
  DecisionEscalated,
  DecisionMade,
  RequestStatus,
  ReviewAssigned,
  ReviewCancelled,
  ReviewClassified,
  ReviewCompleted,
  ReviewRejected,
  RiskAssessed,
  SlaTimerFired,
} from '@agf/contracts';
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
  /**
   * `decidedInOneStep`: the decision carried its classification and validators' reviews, handed over before
   * it in the same batch; nothing else of the request can be open.
   */
  | { name: 'decision.made'; data: DecisionMade; decidedInOneStep?: boolean }
  | { name: 'review.cancelled'; data: ReviewCancelled }
  | { name: 'decision.escalated'; data: DecisionEscalated }
  | { name: 'deployment.break_glass'; data: BreakGlassRequested };

type Of<N extends ReadModelEvent['name']> = Extract<ReadModelEvent, { name: N }>['data'];

const STATUS_RANK = { received: 0, assessing: 1, in_review: 2, decided: 3 } as const satisfies Record<RequestStatus, number>;
type Status = keyof typeof STATUS_RANK;

/**
 * Applies the events of one transaction (a consumer batch, or a single message) to the read model with one
 * statement per kind of event, not per event. Events of different streams arrive in any order, so every
 * update is monotonic (a status never moves back, a completed assignment never becomes pending again) and the
 * kinds are applied in a fixed order: assignments before their answers and cancellations, the escalation
 * before the decision (which cancels what is still open, except the after-the-fact review it asks for).
 * Escalation steps and after-the-fact reviews are known by their assignment ids before their `review.assigned`
 * may arrive: whichever comes first creates the row, the other fills in what it knows. Request rows are locked first, in id order, whenever a transaction touches more than one
 * row, so that concurrent batches and single messages always lock a request before its assignments.
 */
export async function projectReadModelEvents(db: Queryable, events: readonly ReadModelEvent[]): Promise<DecidedInOneStep> {
  // A request decided in one step is written by the update of the request rows and one insert of its
  // answered assignments, rather than by the five statements its classification, assignments, answers and
  // decision would take one kind at a time.
  // Loops rather than callbacks on the batch path: see `invokeInSpan` (libs/messaging) on V8's closures.
  const decidedInOneStep = new Set<string>();
  const requestIds = new Set<string>();
  for (const e of events) {
    if (e.name === 'decision.made' && e.decidedInOneStep) decidedInOneStep.add(e.data.requestId);
    requestIds.add(e.data.requestId);
  }
  const oneStep: ReadModelEvent[] = [];
  const stepwise: ReadModelEvent[] = [];
  for (const e of events) (ONE_STEP_KINDS.has(e.name) && decidedInOneStep.has(e.data.requestId) ? oneStep : stepwise).push(e);
  const of = <N extends ReadModelEvent['name']>(name: N): Array<Of<N>> => dataOf(stepwise, name);
  const completed = of('review.completed');
  // Also what numbers the requests' story events (`recordRequestEvents`), so it is taken for every transaction;
  // it reads the metadata a one-step decision's attestation names the artifact by.
  const locked = (await db.query(
    `SELECT "id", CASE WHEN "id" = ANY($2::uuid[]) THEN "request"->'metadata' END AS "metadata" FROM "intake"."requests" WHERE "id" = ANY($1::uuid[]) ORDER BY "id" FOR UPDATE`,
    [[...requestIds].sort(), [...decidedInOneStep]],
  )) as Array<{ id: string; metadata: Record<string, unknown> | null }>;
  await applyClassifications(db, of('review.classified'));
  await applyAssignments(db, of('review.assigned'));
  await applyCompletedReviews(db, completed);
  await applyCancellations(db, of('review.cancelled'));
  await applyRejectedAnswers(db, stepwise.filter((e) => e.name === 'review.rejected'));
  await applySlaWarnings(db, of('sla.warning'));
  await applySlaBreaches(db, of('sla.breached'));
  await applyEscalations(db, of('decision.escalated'));
  await applyDecisions(db, of('decision.made'));
  await applyBreakGlass(db, of('deployment.break_glass'));
  await applyRequestFacts(db, of('risk.assessed'), of('compliance.evaluated'), oneStep);
  await applyOneStepAssignments(db, oneStep);
  await recordRequestEvents(db, events);
  const decided = new Map<string, { metadata: Record<string, unknown> | undefined; answers: ReviewCompleted[] }>();
  for (const row of locked) if (decidedInOneStep.has(row.id)) decided.set(row.id, { metadata: row.metadata ?? undefined, answers: [] });
  for (const answer of dataOf(oneStep, 'review.completed')) decided.get(answer.requestId)?.answers.push(answer);
  return decided;
}

/**
 * The requests of a batch decided in one step, as its attestation needs them: the request's metadata, and
 * every answer it had (all came with the decision: nothing of it was open before).
 */
export type DecidedInOneStep = ReadonlyMap<string, { metadata: Record<string, unknown> | undefined; answers: ReviewCompleted[] }>;

/** The data of the events of one kind. */
function dataOf<N extends ReadModelEvent['name']>(events: readonly ReadModelEvent[], name: N): Array<Of<N>> {
  const data: Array<Of<N>> = [];
  for (const e of events) if (e.name === name) data.push(e.data as Of<N>);
  return data;
}

/** What a request decided in one step is told by: its classification, validators' assignments and answers, and decision. */
const ONE_STEP_KINDS = new Set<ReadModelEvent['name']>(['review.classified', 'review.assigned', 'review.completed', 'decision.made']);

/**
 * What a batch tells of the request rows themselves, in one update of each row rather than one per kind: the
 * newest risk assessment (by revision) and compliance evaluation (by time), and, for a request decided in one
 * step, its classification and decision. Each guard is the one its kind would apply alone, and the status
 * only moves forward, so the rows end as they would with a statement per kind, in any order.
 */
async function applyRequestFacts(db: Queryable, assessments: RiskAssessed[], evaluations: ComplianceEvaluated[], oneStep: readonly ReadModelEvent[]): Promise<void> {
  const risks = keepBy(assessments, requestIdOf, isNewerRevision);
  const compliance = keepBy(evaluations, requestIdOf, isNewerEvaluation);
  const decisions = keepBy(dataOf(oneStep, 'decision.made'), requestIdOf, keepFirst);
  const classifications = new Map(dataOf(oneStep, 'review.classified').map((c) => [c.requestId, c]));
  const ids = distinct([...risks.keys(), ...compliance.keys(), ...decisions.keys()]);
  if (!ids.length) return;
  // One loop filling every column, rather than a callback per column (see `invokeInSpan`, libs/messaging).
  const risk: Array<string | null> = [];
  const revision: Array<number | null> = [];
  const evaluation: Array<string | null> = [];
  const evaluatedAt: Array<string | null> = [];
  const classification: Array<string | null> = [];
  const decision: Array<string | null> = [];
  const status: Array<Status | null> = [];
  const statusRank: Array<number | null> = [];
  for (const id of ids) {
    const assessment = risks.get(id);
    if (assessment) {
      const { request: _request, ...shown } = assessment;
      risk.push(JSON.stringify(shown));
    } else risk.push(null);
    revision.push(assessment?.revision ?? null);
    const evaluated = compliance.get(id);
    evaluation.push(jsonOrNull(evaluated));
    evaluatedAt.push(evaluated?.evaluatedAt ?? null);
    const decided = decisions.get(id);
    classification.push(jsonOrNull(decided ? classifications.get(id) : undefined));
    decision.push(jsonOrNull(decided));
    const statusNow: Status | null = decided ? 'decided' : assessment ? 'assessing' : null;
    status.push(statusNow);
    statusRank.push(statusNow === null ? null : STATUS_RANK[statusNow]);
  }
  await db.query(
    `UPDATE "intake"."requests" r
        SET "risk" = CASE WHEN v."risk" IS NOT NULL AND ((r."risk"->>'revision')::int IS NULL OR (r."risk"->>'revision')::int < v."revision") THEN v."risk" ELSE r."risk" END,
            "compliance" = CASE WHEN v."compliance" IS NOT NULL AND (r."compliance" IS NULL OR (r."compliance"->>'evaluatedAt') <= v."evaluated_at") THEN v."compliance" ELSE r."compliance" END,
            "classification" = COALESCE(v."classification", r."classification"), "decision" = COALESCE(r."decision", v."decision"),
            "status" = CASE WHEN r."status_rank" < v."status_rank" THEN v."status" ELSE r."status" END, "status_rank" = GREATEST(r."status_rank", v."status_rank"),
            "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::int[], $4::jsonb[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::int2[])
            AS v("id", "risk", "revision", "compliance", "evaluated_at", "classification", "decision", "status", "status_rank")
      WHERE r."id" = v."id"`,
    [ids, risk, revision, evaluation, evaluatedAt, classification, decision, status, statusRank],
  );
}

/** The validators' assignments of requests decided in one step, stored answered in one insert. */
async function applyOneStepAssignments(db: Queryable, events: readonly ReadModelEvent[]): Promise<void> {
  if (!events.length) return;
  const of = <N extends ReadModelEvent['name']>(name: N): Array<Of<N>> => dataOf(events, name);
  const answers = new Map(of('review.completed').map((r) => [r.assignmentId, r]));
  const assignments = [...keepBy(of('review.assigned'), (a) => a.assignmentId, () => true).values()];
  if (!assignments.length) return;
  const answerOf = (a: ReviewAssigned) => answers.get(a.assignmentId);
  await db.query(
    `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "supersedes_assignment_id",
                                         "scope", "priority", "decision", "comments", "conditions", "completed_at")
     SELECT a."id", a."request_id", a."expert_id", a."expert_type", a."expert_kind", a."role", CASE WHEN a."completed_at" IS NULL THEN 'cancelled' ELSE 'completed' END,
            a."tier_level", a."assigned_at", a."sla_due_at", a."supersedes", a."scope", a."priority", a."decision", a."comments", a."conditions", a."completed_at"
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int2[], $8::timestamptz[], $9::timestamptz[], $10::uuid[], $11::jsonb[], $12::text[],
                   $13::text[], $14::text[], $15::jsonb[], $16::timestamptz[])
            AS a("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "tier_level", "assigned_at", "sla_due_at", "supersedes", "scope", "priority",
                 "decision", "comments", "conditions", "completed_at")
     ON CONFLICT ("id") DO UPDATE SET "status" = EXCLUDED."status", "decision" = EXCLUDED."decision", "comments" = EXCLUDED."comments",
       "conditions" = EXCLUDED."conditions", "completed_at" = EXCLUDED."completed_at"`,
    [
      ...assignmentFacts(assignments),
      ...assignmentRouting(assignments),
      assignments.map((a) => answerOf(a)?.decision ?? null),
      assignments.map((a) => answerOf(a)?.comments ?? null),
      assignments.map((a) => (answerOf(a) ? JSON.stringify(answerOf(a)!.conditions) : null)),
      assignments.map((a) => answerOf(a)?.completedAt ?? null),
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
  // are consumed independently) was cancelled by it. A row made before from another event (an answer, a
  // cancellation, an escalation, an after-the-fact review) keeps its status and purpose, and takes the facts.
  await db.query(
    `WITH "request" AS (
       UPDATE "intake"."requests" SET ${advanceStatus(11)}, "updated_at" = now() WHERE "id" = ANY($1::uuid[])
       RETURNING "id", "decision" IS NOT NULL AS "decided")
     INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "supersedes_assignment_id",
                                         "scope", "priority")
     SELECT a."id", a."request_id", a."expert_id", a."expert_type", a."expert_kind", a."role",
            CASE WHEN COALESCE(r."decided", false) THEN 'cancelled' ELSE 'pending' END,
            a."tier_level", a."assigned_at", a."sla_due_at", a."supersedes", a."scope", a."priority"
       FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int2[], $9::timestamptz[], $10::timestamptz[], $13::uuid[], $14::jsonb[], $15::text[])
            AS a("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "tier_level", "assigned_at", "sla_due_at", "supersedes", "scope", "priority")
       LEFT JOIN "request" r ON r."id" = a."request_id"
     ON CONFLICT ("id") DO UPDATE SET "expert_type" = EXCLUDED."expert_type", "expert_kind" = EXCLUDED."expert_kind", "role" = EXCLUDED."role",
       "tier_level" = EXCLUDED."tier_level", "assigned_at" = EXCLUDED."assigned_at", "sla_due_at" = EXCLUDED."sla_due_at",
       "supersedes_assignment_id" = EXCLUDED."supersedes_assignment_id", "scope" = EXCLUDED."scope", "priority" = EXCLUDED."priority"`,
    [
      distinct(assignments.map((a) => a.requestId)),
      ...assignmentFacts(assignments),
      ...statusParams('in_review'),
      ...assignmentRouting(assignments),
    ],
  );
  const superseded = assignments.flatMap((a) => (a.supersedesAssignmentId ? [a.supersedesAssignmentId] : []));
  if (superseded.length) {
    // Also when the decision, seen first, cancelled it: CoE reassigns only before it decides.
    await db.query(`UPDATE "intake"."assignments" SET "status" = 'reassigned' WHERE "id" = ANY($1::uuid[]) AND "status" IN ('pending', 'breached', 'cancelled')`, [superseded]);
  }
}

/** One array per column: id, request, expert (id, type, kind), role, tier, assigned and due. */
function assignmentFacts(assignments: readonly ReviewAssigned[]): unknown[][] {
  return [
    assignments.map((a) => a.assignmentId),
    assignments.map((a) => a.requestId),
    assignments.map((a) => a.expertId),
    assignments.map((a) => a.expertType),
    assignments.map((a) => a.expertKind),
    assignments.map((a) => a.role),
    assignments.map((a) => a.tierLevel),
    assignments.map((a) => a.assignedAt),
    assignments.map((a) => a.slaDueAt),
  ];
}

/** One array per column: the assignment it replaces, its scope and its priority. */
function assignmentRouting(assignments: readonly ReviewAssigned[]): unknown[][] {
  return [assignments.map((a) => a.supersedesAssignmentId ?? null), assignments.map((a) => JSON.stringify(a.scope)), assignments.map((a) => a.priority)];
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

async function applyCancellations(db: Queryable, cancellations: ReviewCancelled[]): Promise<void> {
  if (!cancellations.length) return;
  const latest = [...keepBy(cancellations, (c) => c.assignmentId, () => true).values()];
  // What the CoE says of a cancellation replaces what intake inferred from the decision; a closed assignment
  // stays closed (an answer or a reassignment came first), yet keeps the reason. Placeholder until assigned.
  await db.query(
    `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at",
                                         "cancel_reason", "cancelled_at", "replaced_by_assignment_id")
     SELECT c."id", c."request_id", c."expert_id", 'unknown', 'human', 'unknown', 'cancelled', 0, c."cancelled_at", c."cancelled_at", c."reason", c."cancelled_at", c."replaced_by"
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::uuid[]) AS c("id", "request_id", "expert_id", "reason", "cancelled_at", "replaced_by")
     ON CONFLICT ("id") DO UPDATE SET
       "status" = CASE WHEN "assignments"."status" IN ('pending', 'breached') THEN 'cancelled' ELSE "assignments"."status" END,
       "cancel_reason" = EXCLUDED."cancel_reason", "cancelled_at" = EXCLUDED."cancelled_at", "replaced_by_assignment_id" = EXCLUDED."replaced_by_assignment_id"`,
    [
      latest.map((c) => c.assignmentId),
      latest.map((c) => c.requestId),
      latest.map((c) => c.expertId),
      latest.map((c) => c.reason),
      latest.map((c) => c.cancelledAt),
      latest.map((c) => c.replacedByAssignmentId ?? null),
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

async function applyEscalations(db: Queryable, escalations: DecisionEscalated[]): Promise<void> {
  if (!escalations.length) return;
  // The request shows its latest step (the highest level); its status stays open: escalation is not a decision.
  const latest = [...keepBy(escalations, (e) => e.requestId, (a, b) => b.level > a.level || (b.level === a.level && b.escalatedAt > a.escalatedAt)).values()];
  await db.query(
    `UPDATE "intake"."requests" r
        SET "escalation" = CASE WHEN r."escalation" IS NULL OR (r."escalation"->>'level')::int < v."level"
                                  OR ((r."escalation"->>'level')::int = v."level" AND r."escalation"->>'escalatedAt' < v."escalated_at") THEN v."escalation" ELSE r."escalation" END,
            ${advanceStatus(4)}, "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[], $3::int[], $6::text[]) AS v("id", "escalation", "level", "escalated_at")
      WHERE r."id" = v."id"`,
    [latest.map((e) => e.requestId), latest.map((e) => JSON.stringify(escalationView(e))), latest.map((e) => e.level), ...statusParams('in_review'), latest.map((e) => e.escalatedAt)],
  );
  // Each assignee's assignment is an escalation step, whether or not its review.assigned came yet.
  const steps = escalations.flatMap((e) => e.assignees.map((a) => ({ ...a, escalation: e })));
  await db.query(
    `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at",
                                         "purpose", "purpose_detail")
     SELECT s."id", s."request_id", s."expert_id", s."expert_type", 'human', 'oversight', CASE WHEN r."decision" IS NULL THEN 'pending' ELSE 'cancelled' END,
            s."tier_level", s."assigned_at", s."sla_due_at", 'escalation', s."detail"
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int2[], $6::timestamptz[], $7::timestamptz[], $8::jsonb[])
            AS s("id", "request_id", "expert_id", "expert_type", "tier_level", "assigned_at", "sla_due_at", "detail")
       LEFT JOIN "intake"."requests" r ON r."id" = s."request_id"
     ON CONFLICT ("id") DO UPDATE SET "purpose" = 'escalation',
       "purpose_detail" = CASE WHEN "assignments"."purpose_detail" IS NULL OR ("assignments"."purpose_detail"->>'level')::int < (EXCLUDED."purpose_detail"->>'level')::int
                               THEN EXCLUDED."purpose_detail" ELSE "assignments"."purpose_detail" END`,
    [
      steps.map((s) => s.assignmentId),
      steps.map((s) => s.escalation.requestId),
      steps.map((s) => s.expertId),
      steps.map((s) => s.escalation.expertType),
      steps.map((s) => s.escalation.tierLevel),
      steps.map((s) => s.escalation.escalatedAt),
      steps.map((s) => s.escalation.dueAt),
      steps.map((s) => JSON.stringify({ level: s.escalation.level, reason: s.escalation.reason, detail: s.escalation.detail })),
    ],
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
  // A break-glass approval asks for a review after the fact: it stays open after the decision.
  const reviews = first.flatMap((d) => (d.emergency?.afterTheFactReview ? [{ decision: d, emergency: d.emergency, review: d.emergency.afterTheFactReview }] : []));
  if (reviews.length) {
    await db.query(
      `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at", "purpose", "purpose_detail")
       SELECT v."id", v."request_id", v."expert_id", 'human_oversight', 'human', 'oversight', 'pending', v."tier_level", v."assigned_at", v."sla_due_at", 'after-the-fact', v."detail"
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int2[], $5::timestamptz[], $6::timestamptz[], $7::jsonb[])
              AS v("id", "request_id", "expert_id", "tier_level", "assigned_at", "sla_due_at", "detail")
       ON CONFLICT ("id") DO UPDATE SET "purpose" = 'after-the-fact', "purpose_detail" = EXCLUDED."purpose_detail"`,
      [
        reviews.map((r) => r.review.assignmentId),
        reviews.map((r) => r.decision.requestId),
        reviews.map((r) => r.review.expertId),
        reviews.map((r) => r.decision.tierLevel),
        reviews.map((r) => r.decision.decidedAt),
        reviews.map((r) => r.review.slaDueAt),
        reviews.map((r) => JSON.stringify({ justification: r.emergency.justification, approvedBy: r.emergency.approvedBy })),
      ],
    );
  }
  // CoE cancels what is still open when it decides; reviewers must not see those as waiting for them. Why and
  // when are left to its review.cancelled (the view says "decided" until then), so that any order ends alike.
  await db.query(
    `UPDATE "intake"."assignments" SET "status" = 'cancelled' WHERE "request_id" = ANY($1::uuid[]) AND "status" IN ('pending', 'breached') AND "purpose" <> 'after-the-fact'`,
    [requestIds],
  );
}

async function applyBreakGlass(db: Queryable, requests: BreakGlassRequested[]): Promise<void> {
  if (!requests.length) return;
  // Intake takes one break-glass per request (`break_glass_requests`); a redelivery changes nothing.
  const first = [...keepBy(requests, (b) => b.requestId, () => false).values()];
  await db.query(
    `UPDATE "intake"."requests" r SET "break_glass" = COALESCE(r."break_glass", v."break_glass"), "updated_at" = now()
       FROM unnest($1::uuid[], $2::jsonb[]) AS v("id", "break_glass") WHERE r."id" = v."id"`,
    [first.map((b) => b.requestId), first.map((b) => JSON.stringify({ justification: b.justification, actor: b.actor, requestedAt: b.requestedAt }))],
  );
}

/** What a request's view shows of its escalation. */
function escalationView(e: DecisionEscalated): Omit<DecisionEscalated, 'requestId' | 'projectId' | 'componentName' | 'version' | 'tierLevel' | 'riskScore'> {
  return { level: e.level, reason: e.reason, detail: e.detail, expertType: e.expertType, assignees: e.assignees, dueAt: e.dueAt, escalatedAt: e.escalatedAt };
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

const requestIdOf = (item: { requestId: string }): string => item.requestId;
const isNewerRevision = (kept: RiskAssessed, later: RiskAssessed): boolean => later.revision >= kept.revision;
const isNewerEvaluation = (kept: ComplianceEvaluated, later: ComplianceEvaluated): boolean => later.evaluatedAt >= kept.evaluatedAt;
const keepFirst = (): boolean => false;

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

function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}
