import type { CompletedReview } from '@agf/compliance-domain';
import type { ComplianceEvaluated, DeploymentRequest } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface RequestState {
  requestId: string;
  projectId: string;
  request: DeploymentRequest | null;
  riskAssessed: boolean;
  reviews: CompletedReview[];
  openAssignments: number;
}

interface StoredReview {
  assignment_id: string;
  expert_id: string;
  expert_type: string;
  decision: CompletedReview['decision'];
}

/** A request row `q` with its reviews and the number of its open assignments, in one round trip. */
const STATE_OF_Q = `
  SELECT q."project_id", q."request", q."risk_assessed",
         COALESCE((SELECT json_agg(json_build_object('assignment_id', r."assignment_id", 'expert_id', r."expert_id", 'expert_type', r."expert_type", 'decision', r."decision"))
                     FROM "compliance"."reviews" r WHERE r."request_id" = q."request_id"), '[]') AS "reviews",
         (SELECT count(a."assignment_id") FROM "compliance"."assignments" a
           WHERE a."request_id" = q."request_id" AND NOT a."superseded"
             AND NOT EXISTS (SELECT 1 FROM "compliance"."reviews" r WHERE r."assignment_id" = a."assignment_id")) AS "open_assignments"`;

interface StateRow {
  project_id: string;
  request: DeploymentRequest | null;
  risk_assessed: boolean;
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
    reviews: row.reviews.map((r) => ({ assignmentId: r.assignment_id, expertId: r.expert_id, expertType: r.expert_type, decision: r.decision })),
    openAssignments: Number(row.open_assignments),
  };
}

/** What the control evaluation needs of a request, gathered from events that arrive in any order. */
export const evaluationRepository = {
  /** Stores the assessed request and returns its state, in one statement. */
  async recordAssessedRequest(m: Queryable, request: DeploymentRequest): Promise<RequestState> {
    const rows: StateRow[] = await m.query(
      `WITH q AS (
         INSERT INTO "compliance"."requests" ("request_id", "project_id", "request", "risk_assessed") VALUES ($1, $2, $3, true)
         ON CONFLICT ("request_id") DO UPDATE SET "request" = EXCLUDED."request", "risk_assessed" = true
         RETURNING "request_id", "project_id", "request", "risk_assessed")
       ${STATE_OF_Q} FROM q`,
      [request.requestId, request.projectId, JSON.stringify(request)],
    );
    return toState(request.requestId, rows[0])!;
  },

  async recordAssignment(m: Queryable, assignmentId: string, requestId: string, supersedes: string | undefined): Promise<void> {
    await m.query(`INSERT INTO "compliance"."assignments" ("assignment_id", "request_id") VALUES ($1, $2) ON CONFLICT DO NOTHING`, [assignmentId, requestId]);
    if (supersedes) {
      await m.query(
        `INSERT INTO "compliance"."assignments" ("assignment_id", "request_id", "superseded") VALUES ($1, $2, true)
         ON CONFLICT ("assignment_id") DO UPDATE SET "superseded" = true`,
        [supersedes, requestId],
      );
    }
  },

  /**
   * Stores a completed review, and its assignment if that is not known yet, and returns the request's state
   * with it, in one statement; `stored` is false when the review was already stored. The statement's own
   * inserts are not visible to its reads, so the state is the one before them plus this review: one open
   * assignment fewer when its assignment was known and open.
   */
  async recordReview(m: Queryable, requestId: string, review: CompletedReview): Promise<{ stored: boolean; state: RequestState | undefined }> {
    const rows: Array<Partial<StateRow> & { stored: boolean; was_open: boolean }> = await m.query(
      `WITH "assignment" AS (INSERT INTO "compliance"."assignments" ("assignment_id", "request_id") VALUES ($1, $2) ON CONFLICT DO NOTHING),
            "review" AS (
              INSERT INTO "compliance"."reviews" ("assignment_id", "request_id", "expert_id", "expert_type", "decision") VALUES ($1, $2, $3, $4, $5)
              ON CONFLICT DO NOTHING RETURNING "assignment_id")
       SELECT EXISTS (SELECT 1 FROM "review") AS "stored",
              EXISTS (SELECT 1 FROM "compliance"."assignments" WHERE "assignment_id" = $1 AND "request_id" = $2 AND NOT "superseded") AS "was_open",
              s."project_id", s."request", s."risk_assessed", s."reviews", s."open_assignments"
         FROM (VALUES (1)) AS "one"
         LEFT JOIN LATERAL (${STATE_OF_Q} FROM "compliance"."requests" q WHERE q."request_id" = $2) AS s ON true`,
      [review.assignmentId, requestId, review.expertId, review.expertType, review.decision],
    );
    const row = rows[0]!;
    const before = row.project_id === undefined || row.project_id === null ? undefined : toState(requestId, row as StateRow);
    if (!row.stored || !before) return { stored: row.stored, state: undefined };
    return {
      stored: true,
      state: { ...before, reviews: [...before.reviews, review], openAssignments: before.openAssignments - (row.was_open ? 1 : 0) },
    };
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
