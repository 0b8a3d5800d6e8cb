import type { AssignmentPurpose, UnfilledRole } from '@agf/coe-domain';
import type { Actor, AssignmentStatus, BreakGlassRequested, EscalationReason, ComplianceEvaluated, DecisionMade, DeploymentRequest, ExpertKind, ExpertType, FiredTrigger, RiskAssessed } from '@agf/contracts';
import type { EntityManager } from 'typeorm';
import { type StoredProjectMode, storedProjectModeSql } from './projects/project-modes';

export interface CoeRequest {
  requestId: string;
  projectId: string;
  requester: string;
  request: DeploymentRequest;
  risk: Omit<RiskAssessed, 'request'>;
  triggers: FiredTrigger[];
  tierLevel: 0 | 1 | 2;
  tierReasons: string[];
  breachCount: number;
  forcedEscalation: string | null;
  /** Roles nobody (nor a fallback type) could take: they escalate once the other reviews are in. */
  unfilled: UnfilledRole[];
}

export interface AssignmentRecord {
  assignmentId: string;
  requestId: string;
  expertId: string;
  expertType: ExpertType;
  expertKind: ExpertKind;
  runtime: 'builtin' | 'external';
  role: 'validator' | 'standard' | 'strategic' | 'oversight';
  scope: string[];
  tierLevel: 0 | 1 | 2;
  priority: 'low' | 'normal' | 'high' | 'critical';
  slaHours: number;
  assignedAt: string;
  slaDueAt: string;
  status: AssignmentStatus;
  supersedesAssignmentId: string | null;
  decision: 'approve' | 'reject' | 'conditional' | null;
  comments: string | null;
  conditions: string[];
  confidence: number | null;
  completedAt: string | null;
  purpose: AssignmentPurpose;
  escalation: { level: number; reason: EscalationReason } | null;
  actor: Actor | null;
}

export interface ExpertRow {
  id: string;
  expert_type: ExpertType;
  kind: 'automated' | 'human';
  level: 'standard' | 'strategic';
  runtime: 'builtin' | 'external';
  specialties: string[];
  capacity: number;
  open_reviews: number;
  /** Who may answer for it (the registry's `principal`). */
  principal: string[];
  available: boolean;
  away_from: Date | null;
  away_until: Date | null;
}

/** The registry's active experts, as `ExpertRow`s; columns named (not `*`), so that a statement reading them is prepared. */
const ACTIVE_EXPERTS_SQL = `SELECT "id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "open_reviews", "principal", "available", "away_from", "away_until"
       FROM "coe"."experts" WHERE "active"`;

/** SQL of the `coe` schema; every function runs in the caller's transaction. */
export const coeRepository = {
  async lockRequest(m: EntityManager, requestId: string): Promise<CoeRequest | undefined> {
    // Columns named (not `*`), so that the statement is prepared: it runs for every message CoE handles.
    const rows: Record<string, unknown>[] = await m.query(`SELECT "request_id", "project_id", "requester", "request", "risk", "triggers", "tier_level", "tier_reasons", "breach_count", "forced_escalation", "unfilled_roles"
         FROM "coe"."requests" WHERE "request_id" = $1 FOR UPDATE`, [requestId]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      requestId: r['request_id'] as string,
      projectId: r['project_id'] as string,
      requester: r['requester'] as string,
      request: r['request'] as DeploymentRequest,
      risk: r['risk'] as CoeRequest['risk'],
      triggers: r['triggers'] as FiredTrigger[],
      tierLevel: r['tier_level'] as 0 | 1 | 2,
      tierReasons: r['tier_reasons'] as string[],
      breachCount: r['breach_count'] as number,
      forcedEscalation: (r['forced_escalation'] as string | null) ?? null,
      unfilled: (r['unfilled_roles'] as UnfilledRole[] | null) ?? [],
    };
  },

  /**
   * Undefined when the request is stored already. Returns the project's stored gate mode with it: a tier-0
   * request is decided in this same transaction, and the decision needs it. With `withExperts`, the active
   * experts (`experts`) come with it too, for a request that fired a trigger: one statement fewer per batch.
   */
  async insertRequest(
    m: EntityManager,
    r: Omit<CoeRequest, 'breachCount' | 'forcedEscalation' | 'unfilled'>,
    options: { withExperts?: boolean } = {},
  ): Promise<{ storedMode: StoredProjectMode | null; experts?: ExpertRow[] } | undefined> {
    const rows: Array<{ stored_mode: StoredProjectMode | null; experts?: Array<Omit<ExpertRow, 'away_from' | 'away_until'> & { away_from: string | null; away_until: string | null }> }> = await m.query(
      `INSERT INTO "coe"."requests" ("request_id", "project_id", "requester", "request", "risk", "triggers", "tier_level", "tier_reasons")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING ${storedProjectModeSql('$2')} AS "stored_mode"${
         options.withExperts ? `, (SELECT COALESCE(json_agg(e ORDER BY e."id"), '[]'::json) FROM (${ACTIVE_EXPERTS_SQL}) e) AS "experts"` : ''
       }`,
      [r.requestId, r.projectId, r.requester, JSON.stringify(r.request), JSON.stringify(r.risk), JSON.stringify(r.triggers), r.tierLevel, JSON.stringify(r.tierReasons)],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Timestamps in JSON are text: back to the dates a read of the table gives.
    const experts = row.experts?.map((e) => ({ ...e, away_from: e.away_from === null ? null : new Date(e.away_from), away_until: e.away_until === null ? null : new Date(e.away_until) }));
    return { storedMode: row.stored_mode, ...(experts ? { experts } : {}) };
  },

  async setBreachCount(m: EntityManager, requestId: string, breachCount: number): Promise<void> {
    await m.query(`UPDATE "coe"."requests" SET "breach_count" = $2 WHERE "request_id" = $1`, [requestId, breachCount]);
  },

  async setUnfilled(m: EntityManager, requestId: string, unfilled: UnfilledRole[]): Promise<void> {
    await m.query(`UPDATE "coe"."requests" SET "unfilled_roles" = $2 WHERE "request_id" = $1`, [requestId, JSON.stringify(unfilled)]);
  },

  /** An escalation is never left without a person for want of capacity: the slot is taken even when full. */
  async takeSlotAnyway(m: EntityManager, expertId: string): Promise<void> {
    await m.query(`UPDATE "coe"."experts" SET "open_reviews" = "open_reviews" + 1 WHERE "id" = $1`, [expertId]);
  },

  /** A break-glass for a request not classified yet: applied when it is. False when one is already waiting. */
  async storeBreakGlass(m: EntityManager, event: BreakGlassRequested): Promise<boolean> {
    const rows: unknown[] = await m.query(`INSERT INTO "coe"."break_glass" ("request_id", "event") VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`, [event.requestId, JSON.stringify(event)]);
    return rows.length === 1;
  },

  async setForcedEscalation(m: EntityManager, requestId: string, reason: string): Promise<void> {
    await m.query(`UPDATE "coe"."requests" SET "forced_escalation" = $2 WHERE "request_id" = $1`, [requestId, reason]);
  },

  async experts(m: EntityManager): Promise<ExpertRow[]> {
    return m.query(`${ACTIVE_EXPERTS_SQL} ORDER BY "id"`);
  },

  /** Takes one review slot; false when the expert filled up meanwhile (the message is then retried). */
  async takeSlot(m: EntityManager, expertId: string): Promise<boolean> {
    // TypeORM answers an UPDATE on Postgres with [rows, affectedCount].
    const [, affected] = (await m.query(
      `UPDATE "coe"."experts" SET "open_reviews" = "open_reviews" + 1 WHERE "id" = $1 AND "open_reviews" < "capacity"`,
      [expertId],
    )) as [unknown[], number];
    return affected === 1;
  },

  async releaseSlot(m: EntityManager, expertId: string): Promise<void> {
    await m.query(`UPDATE "coe"."experts" SET "open_reviews" = GREATEST(0, "open_reviews" - 1) WHERE "id" = $1`, [expertId]);
  },

  /** Stores an assignment as it is: pending, or (a built-in validator's) already completed. */
  async insertAssignment(m: EntityManager, a: AssignmentRecord): Promise<void> {
    await m.query(`${insertAssignmentsSql} SELECT 1`, assignmentArrays([a]));
  },

  /**
   * Stores the assignments a classification made and reads the break-glass that came before it, in one
   * statement: the read comes where it always did, after the assignments, in the same transaction.
   */
  async insertAssignmentsAndWaitingBreakGlass(m: EntityManager, requestId: string, assignments: readonly AssignmentRecord[]): Promise<BreakGlassRequested | undefined> {
    const rows: { event: BreakGlassRequested }[] = await m.query(
      `${insertAssignmentsSql} SELECT "event" FROM "coe"."break_glass" WHERE "request_id" = $${ASSIGNMENT_COLUMNS + 1}`,
      [...assignmentArrays(assignments), requestId],
    );
    return rows[0]?.event;
  },

  /**
   * `insertAssignmentsAndWaitingBreakGlass`, and the request's decision stored in the same statement unless a
   * break-glass is waiting (`decided`: false then, or when the request has a decision already).
   */
  async insertAssignmentsAndDecisionUnlessBreakGlass(
    m: EntityManager,
    requestId: string,
    assignments: readonly AssignmentRecord[],
    decision: DecisionMade,
  ): Promise<{ breakGlass?: BreakGlassRequested; decided: boolean }> {
    const n = ASSIGNMENT_COLUMNS;
    const rows: Array<{ break_glass: BreakGlassRequested | null; decided: boolean }> = await m.query(
      `${insertAssignmentsSql}, "waiting" AS (SELECT "event" FROM "coe"."break_glass" WHERE "request_id" = $${n + 1}::uuid),
       "decided" AS (
         INSERT INTO "coe"."decisions" ("request_id", "outcome", "tier_level", "decision", "decided_at")
         SELECT $${n + 1}::uuid, $${n + 2}::text, $${n + 3}::smallint, $${n + 4}::jsonb, $${n + 5}::timestamptz WHERE NOT EXISTS (SELECT 1 FROM "waiting")
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT (SELECT "event" FROM "waiting") AS "break_glass", EXISTS (SELECT 1 FROM "decided") AS "decided"`,
      [...assignmentArrays(assignments), requestId, decision.outcome, decision.tierLevel, JSON.stringify(decision), decision.decidedAt],
    );
    const row = rows[0]!;
    return { ...(row.break_glass ? { breakGlass: row.break_glass } : {}), decided: row.decided };
  },

  async assignments(m: EntityManager, requestId: string): Promise<AssignmentRecord[]> {
    const rows: Record<string, unknown>[] = await m.query(`SELECT * FROM "coe"."assignments" WHERE "request_id" = $1 ORDER BY "assigned_at", "id"`, [requestId]);
    return rows.map((r) => ({
      assignmentId: r['id'] as string,
      requestId: r['request_id'] as string,
      expertId: r['expert_id'] as string,
      expertType: r['expert_type'] as ExpertType,
      expertKind: r['expert_kind'] as ExpertKind,
      runtime: r['runtime'] as 'builtin' | 'external',
      role: r['role'] as AssignmentRecord['role'],
      scope: r['scope'] as string[],
      tierLevel: r['tier_level'] as 0 | 1 | 2,
      priority: r['priority'] as AssignmentRecord['priority'],
      slaHours: r['sla_hours'] as number,
      assignedAt: (r['assigned_at'] as Date).toISOString(),
      slaDueAt: (r['sla_due_at'] as Date).toISOString(),
      status: r['status'] as AssignmentStatus,
      supersedesAssignmentId: (r['supersedes_assignment_id'] as string | null) ?? null,
      decision: (r['decision'] as AssignmentRecord['decision']) ?? null,
      comments: (r['comments'] as string | null) ?? null,
      conditions: (r['conditions'] as string[] | null) ?? [],
      confidence: (r['confidence'] as number | null) ?? null,
      completedAt: r['completed_at'] ? (r['completed_at'] as Date).toISOString() : null,
      purpose: ((r['purpose'] as AssignmentPurpose | null) ?? 'review'),
      escalation: r['escalation_level'] === null || r['escalation_level'] === undefined ? null : { level: Number(r['escalation_level']), reason: r['escalation_reason'] as EscalationReason },
      actor: (r['actor'] as Actor | null) ?? null,
    }));
  },

  async completeAssignment(
    m: EntityManager,
    assignmentId: string,
    review: { decision: string; comments: string; conditions: string[]; confidence: number; completedAt: string; actor?: Actor },
  ): Promise<void> {
    await m.query(
      `UPDATE "coe"."assignments" SET "status" = 'completed', "decision" = $2, "comments" = $3, "conditions" = $4, "confidence" = $5, "completed_at" = $6, "actor" = $7 WHERE "id" = $1`,
      [assignmentId, review.decision, review.comments, JSON.stringify(review.conditions), review.confidence, review.completedAt, review.actor ? JSON.stringify(review.actor) : null],
    );
  },

  async setAssignmentStatus(m: EntityManager, assignmentId: string, status: AssignmentStatus): Promise<void> {
    await m.query(`UPDATE "coe"."assignments" SET "status" = $2 WHERE "id" = $1`, [assignmentId, status]);
  },

  async latestCompliance(m: EntityManager, requestId: string): Promise<ComplianceEvaluated | undefined> {
    const rows: { evaluation: ComplianceEvaluated }[] = await m.query(`SELECT "evaluation" FROM "coe"."compliance_evaluations" WHERE "request_id" = $1`, [requestId]);
    return rows[0]?.evaluation;
  },

  async storeCompliance(m: EntityManager, evaluation: ComplianceEvaluated): Promise<void> {
    await m.query(
      `INSERT INTO "coe"."compliance_evaluations" ("request_id", "evaluation", "evaluated_at") VALUES ($1, $2, $3)
       ON CONFLICT ("request_id") DO UPDATE SET "evaluation" = EXCLUDED."evaluation", "evaluated_at" = EXCLUDED."evaluated_at"
       WHERE "coe"."compliance_evaluations"."evaluated_at" <= EXCLUDED."evaluated_at"`,
      [evaluation.requestId, JSON.stringify(evaluation), evaluation.evaluatedAt],
    );
  },

  /** Records the one decision of a request; false when there already is one. */
  async insertDecision(m: EntityManager, decision: DecisionMade): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO "coe"."decisions" ("request_id", "outcome", "tier_level", "decision", "decided_at") VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [decision.requestId, decision.outcome, decision.tierLevel, JSON.stringify(decision), decision.decidedAt],
    );
    return rows.length === 1;
  },

  async isDecided(m: EntityManager, requestId: string): Promise<boolean> {
    const rows: unknown[] = await m.query(`SELECT 1 FROM "coe"."decisions" WHERE "request_id" = $1`, [requestId]);
    return rows.length === 1;
  },
};

/** The value of each column of `insertAssignmentsSql`, in its order. */
const ASSIGNMENT_COLUMN_VALUES: ReadonlyArray<(a: AssignmentRecord) => unknown> = [
  (a) => a.assignmentId,
  (a) => a.requestId,
  (a) => a.expertId,
  (a) => a.expertType,
  (a) => a.expertKind,
  (a) => a.runtime,
  (a) => a.role,
  (a) => JSON.stringify(a.scope),
  (a) => a.tierLevel,
  (a) => a.priority,
  (a) => a.slaHours,
  (a) => a.assignedAt,
  (a) => a.slaDueAt,
  (a) => a.status,
  (a) => a.supersedesAssignmentId,
  (a) => a.decision,
  (a) => a.comments,
  (a) => JSON.stringify(a.conditions),
  (a) => a.confidence,
  (a) => a.completedAt,
  (a) => a.purpose,
  (a) => a.escalation?.level ?? null,
  (a) => a.escalation?.reason ?? null,
];
const ASSIGNMENT_COLUMNS = ASSIGNMENT_COLUMN_VALUES.length;

/** A CTE inserting the rows of `assignmentArrays` (parameters $1–$23); the statement goes on with a SELECT. */
const insertAssignmentsSql = `WITH "inserted" AS (
  INSERT INTO "coe"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "runtime", "role", "scope", "tier_level", "priority",
    "sla_hours", "assigned_at", "sla_due_at", "status", "supersedes_assignment_id", "decision", "comments", "conditions", "confidence", "completed_at",
    "purpose", "escalation_level", "escalation_reason")
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::smallint[], $10::text[],
    $11::float8[], $12::timestamptz[], $13::timestamptz[], $14::text[], $15::uuid[], $16::text[], $17::text[], $18::jsonb[], $19::float8[], $20::timestamptz[],
    $21::text[], $22::smallint[], $23::text[]))`;

/** One array per column of `insertAssignmentsSql`. */
function assignmentArrays(assignments: readonly AssignmentRecord[]): unknown[][] {
  return ASSIGNMENT_COLUMN_VALUES.map((value) => assignments.map(value));
}
