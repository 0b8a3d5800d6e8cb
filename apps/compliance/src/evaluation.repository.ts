import type { CompletedReview, EmergencyApproval } from '@agf/compliance-domain';
import type { ComplianceEvaluated, DeploymentRequest, ExpertKind, TierLevel } from '@agf/contracts';
import { onePerKey } from '@agf/messaging';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface RequestState {
  requestId: string;
  projectId: string;
  request: DeploymentRequest | null;
  riskAssessed: boolean;
  reviews: CompletedReview[];
  openAssignments: number;
  /** The CoE's tier, once its classification arrived. */
  tierLevel: TierLevel | null;
  /** Set when the CoE approved it by break-glass. */
  emergency: EmergencyApproval | null;
}

interface StoredReview {
  assignment_id: string;
  expert_id: string;
  expert_type: string;
  expert_kind: ExpertKind | null;
  actor_subject: string | null;
  decision: CompletedReview['decision'];
}

/** A request row `q` with its reviews and the number of its open assignments, in one round trip. */
const STATE_OF_Q = `
  SELECT q."project_id", q."request", q."risk_assessed", q."tier_level", q."emergency",
         COALESCE((SELECT json_agg(json_build_object('assignment_id', r."assignment_id", 'expert_id', r."expert_id", 'expert_type', r."expert_type",
                                                     'expert_kind', r."expert_kind", 'actor_subject', r."actor_subject", 'decision', r."decision"))
                     FROM "compliance"."reviews" r WHERE r."request_id" = q."request_id"), '[]') AS "reviews",
         (SELECT count(a."assignment_id") FROM "compliance"."assignments" a
           WHERE a."request_id" = q."request_id" AND NOT a."superseded"
             AND NOT EXISTS (SELECT 1 FROM "compliance"."reviews" r WHERE r."assignment_id" = a."assignment_id")) AS "open_assignments"`;

interface StateRow {
  project_id: string;
  request: DeploymentRequest | null;
  risk_assessed: boolean;
  tier_level: number | null;
  emergency: EmergencyApproval | null;
  reviews: StoredReview[];
  open_assignments: string;
}

function toState(requestId: string, row: StateRow | undefined): RequestState | undefined {
  if (!row) return undefined;
  return {
    requestId,
    projectId: row.project_id,
    request: row.request,
    riskAssessed: row.risk_assessed,
    reviews: row.reviews.map((r) => ({
      assignmentId: r.assignment_id,
      expertId: r.expert_id,
      expertType: r.expert_type,
      expertKind: r.expert_kind,
      actorSubject: r.actor_subject,
      decision: r.decision,
    })),
    openAssignments: Number(row.open_assignments),
    tierLevel: row.tier_level === null ? null : (row.tier_level as TierLevel),
    emergency: row.emergency ?? null,
  };
}

/** What the control evaluation needs of a request, gathered from events that arrive in any order. */
export const evaluationRepository = {
  /** Stores assessed requests (of several for one request, the last), in one statement. */
  async storeAssessedRequests(m: Queryable, requests: DeploymentRequest[]): Promise<void> {
    const last = onePerKey(requests, (request) => request.requestId, () => true);
    if (!last.length) return;
    await m.query(
      `INSERT INTO "compliance"."requests" ("request_id", "project_id", "request", "risk_assessed")
       SELECT "request_id", "project_id", "request", true FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) AS r("request_id", "project_id", "request")
       ON CONFLICT ("request_id") DO UPDATE SET "request" = EXCLUDED."request", "risk_assessed" = true`,
      [last.map((r) => r.requestId), last.map((r) => r.projectId), last.map((r) => JSON.stringify(r))],
    );
  },

  /**
   * Stores assignments, and marks the ones they replace superseded (stored as such if not known yet), in one
   * statement each; either order of the two gives the same rows. Returns the requests that already have
   * reviews: a new open assignment turns their evaluation from "every review is in" back to waiting.
   */
  async storeAssignments(m: Queryable, assignments: Array<{ assignmentId: string; requestId: string; supersedes?: string }>): Promise<Set<string>> {
    if (!assignments.length) return new Set();
    const added: { request_id: string; reviewed: boolean }[] = await m.query(
      `INSERT INTO "compliance"."assignments" ("assignment_id", "request_id")
       SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING
       RETURNING "request_id", EXISTS (SELECT 1 FROM "compliance"."reviews" r WHERE r."request_id" = "assignments"."request_id") AS "reviewed"`,
      [assignments.map((a) => a.assignmentId), assignments.map((a) => a.requestId)],
    );
    const reviewed = new Set(added.filter((row) => row.reviewed).map((row) => row.request_id));
    // One row per replaced assignment (the last of a batch's replacements of it).
    const superseded = onePerKey(assignments.filter((a) => a.supersedes), (a) => a.supersedes!, () => true);
    if (!superseded.length) return reviewed;
    await m.query(
      `INSERT INTO "compliance"."assignments" ("assignment_id", "request_id", "superseded")
       SELECT "assignment_id", "request_id", true FROM unnest($1::uuid[], $2::uuid[]) AS s("assignment_id", "request_id")
       ON CONFLICT ("assignment_id") DO UPDATE SET "superseded" = true`,
      [superseded.map((a) => a.supersedes!), superseded.map((a) => a.requestId)],
    );
    return reviewed;
  },

  /**
   * Stores the CoE's tier of each request (a request not assessed yet gets its row now), in one statement;
   * returns the requests that already have reviews, whose evaluation the tier may change.
   */
  async storeTiers(m: Queryable, classified: Array<{ requestId: string; projectId: string; tierLevel: TierLevel }>): Promise<Set<string>> {
    const last = onePerKey(classified, (c) => c.requestId, () => true);
    if (!last.length) return new Set();
    const rows: { request_id: string; reviewed: boolean }[] = await m.query(
      `INSERT INTO "compliance"."requests" ("request_id", "project_id", "tier_level")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::smallint[])
       ON CONFLICT ("request_id") DO UPDATE SET "tier_level" = EXCLUDED."tier_level"
       RETURNING "request_id", EXISTS (SELECT 1 FROM "compliance"."reviews" r WHERE r."request_id" = "requests"."request_id") AS "reviewed"`,
      [last.map((c) => c.requestId), last.map((c) => c.projectId), last.map((c) => c.tierLevel)],
    );
    return new Set(rows.filter((row) => row.reviewed).map((row) => row.request_id));
  },

  /**
   * Stores completed reviews, and their assignments where those are not known yet, in one statement; returns
   * the requests that got a review they did not have (a redelivered review is stored once).
   */
  async storeReviews(m: Queryable, reviews: Array<CompletedReview & { requestId: string }>): Promise<Set<string>> {
    if (!reviews.length) return new Set();
    const rows: { request_id: string }[] = await m.query(
      `WITH "completed" AS (
              SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                AS c("assignment_id", "request_id", "expert_id", "expert_type", "decision", "expert_kind", "actor_subject")),
            "assignment" AS (
              INSERT INTO "compliance"."assignments" ("assignment_id", "request_id") SELECT "assignment_id", "request_id" FROM "completed" ON CONFLICT DO NOTHING),
            "review" AS (
              INSERT INTO "compliance"."reviews" ("assignment_id", "request_id", "expert_id", "expert_type", "decision", "expert_kind", "actor_subject")
              SELECT * FROM "completed" ON CONFLICT DO NOTHING RETURNING "request_id")
       SELECT DISTINCT "request_id" FROM "review"`,
      [
        reviews.map((r) => r.assignmentId),
        reviews.map((r) => r.requestId),
        reviews.map((r) => r.expertId),
        reviews.map((r) => r.expertType),
        reviews.map((r) => r.decision),
        reviews.map((r) => r.expertKind),
        reviews.map((r) => r.actorSubject),
      ],
    );
    return new Set(rows.map((row) => row.request_id));
  },

  /** Assignments the CoE cancelled: no longer waited for (stored as superseded, known yet or not). */
  async cancelAssignments(m: Queryable, cancelled: Array<{ assignmentId: string; requestId: string }>): Promise<void> {
    const last = onePerKey(cancelled, (c) => c.assignmentId, () => true);
    if (!last.length) return;
    await m.query(
      `INSERT INTO "compliance"."assignments" ("assignment_id", "request_id", "superseded")
       SELECT "assignment_id", "request_id", true FROM unnest($1::uuid[], $2::uuid[]) AS s("assignment_id", "request_id")
       ON CONFLICT ("assignment_id") DO UPDATE SET "superseded" = true`,
      [last.map((c) => c.assignmentId), last.map((c) => c.requestId)],
    );
  },

  /** Break-glass approvals (a request not known yet gets its row now); returns the requests that are known with a request body. */
  async storeEmergencies(m: Queryable, emergencies: Array<{ requestId: string; projectId: string; emergency: EmergencyApproval }>): Promise<void> {
    const last = onePerKey(emergencies, (e) => e.requestId, () => true);
    if (!last.length) return;
    await m.query(
      `INSERT INTO "compliance"."requests" ("request_id", "project_id", "emergency")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])
       ON CONFLICT ("request_id") DO UPDATE SET "emergency" = EXCLUDED."emergency"`,
      [last.map((e) => e.requestId), last.map((e) => e.projectId), last.map((e) => JSON.stringify(e.emergency))],
    );
  },

  /** The state of each of these requests that is known (its assessment arrived), in one statement. */
  async states(m: Queryable, requestIds: string[]): Promise<RequestState[]> {
    if (!requestIds.length) return [];
    const rows: Array<StateRow & { request_id: string }> = await m.query(
      `${STATE_OF_Q}, q."request_id" FROM "compliance"."requests" q WHERE q."request_id" = ANY($1::uuid[])`,
      [requestIds],
    );
    return rows.map((row) => toState(row.request_id, row)!);
  },

  /** Keeps each request's latest evaluation, in one statement for all of them (one per request). */
  async saveEvaluations(m: Queryable, evaluations: ComplianceEvaluated[]): Promise<void> {
    await m.query(
      `UPDATE "compliance"."requests" q SET "latest_evaluation" = v."evaluation"
         FROM unnest($1::uuid[], $2::jsonb[]) AS v("request_id", "evaluation") WHERE q."request_id" = v."request_id"`,
      [evaluations.map((e) => e.requestId), evaluations.map((e) => JSON.stringify(e))],
    );
  },

  async latestEvaluation(m: Queryable, requestId: string): Promise<ComplianceEvaluated | undefined> {
    const rows: { latest_evaluation: ComplianceEvaluated | null }[] = await m.query(
      `SELECT "latest_evaluation" FROM "compliance"."requests" WHERE "request_id" = $1`,
      [requestId],
    );
    return rows[0]?.latest_evaluation ?? undefined;
  },
};
