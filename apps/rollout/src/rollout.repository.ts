import type { CriterionResult, DecisionMade, RolloutStatus, RolloutVerdict } from '@agf/contracts';
import type { Reading } from '@agf/rollout-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface StoredRequest {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string;
  requester: string;
  metadata: Record<string, unknown>;
  riskScore: number;
}

export interface StoredDecision {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string;
  approved: boolean;
  outcome: string;
  body: DecisionMade;
}

export interface RolloutRow {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string;
  status: RolloutStatus;
  percent: number | null;
  emergency: boolean;
  revision: number;
  verdict: RolloutVerdict | null;
  liveScore: number | null;
  consecutiveInconclusive: number;
  criteria: CriterionResult[];
  nextEvaluationAt: Date;
  startedAt: Date;
  updatedAt: Date;
}

export interface RollbackRow {
  requestId: string;
  projectId: string;
  componentName: string;
  reason: string;
  signalAt: Date;
  requestedAt: Date;
  warnAt: Date;
  dueAt: Date;
  warnedAt: Date | null;
  breachedAt: Date | null;
  completedAt: Date | null;
  confirmedBy: string | null;
}

const ROLLOUT_COLUMNS = `"request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName", "version", "status",
  "percent", "emergency", "revision", "verdict", "live_score" AS "liveScore", "consecutive_inconclusive" AS "consecutiveInconclusive",
  "criteria", "next_evaluation_at" AS "nextEvaluationAt", "started_at" AS "startedAt", "updated_at" AS "updatedAt"`;

const ROLLBACK_COLUMNS = `"request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName", "reason",
  "signal_at" AS "signalAt", "requested_at" AS "requestedAt", "warn_at" AS "warnAt", "due_at" AS "dueAt", "warned_at" AS "warnedAt",
  "breached_at" AS "breachedAt", "completed_at" AS "completedAt", "confirmed_by" AS "confirmedBy"`;

/** SQL of the rollout schema; replica writes are idempotent, so a redelivered event changes nothing. */
export const rolloutRepository = {
  /** Keeps the request of the highest assessment revision. */
  async upsertRequest(db: Queryable, r: StoredRequest & { revision: number }): Promise<void> {
    await db.query(
      `INSERT INTO "rollout"."requests" AS q ("request_id", "project_id", "component_name", "version", "requester", "metadata", "risk_score", "risk_revision")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ("request_id") DO UPDATE SET "risk_score" = EXCLUDED."risk_score", "risk_revision" = EXCLUDED."risk_revision", "metadata" = EXCLUDED."metadata"
        WHERE q."risk_revision" < EXCLUDED."risk_revision"`,
      [r.requestId, r.projectId, r.componentName, r.version, r.requester, JSON.stringify(r.metadata), r.riskScore, r.revision],
    );
  },

  async request(db: Queryable, requestId: string): Promise<StoredRequest | undefined> {
    const [row] = (await db.query(
      `SELECT "request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName", "version", "requester", "metadata", "risk_score" AS "riskScore"
         FROM "rollout"."requests" WHERE "request_id" = $1`,
      [requestId],
    )) as StoredRequest[];
    return row;
  },

  /** Keeps a final decision: an escalation's resolution replaces the escalation, anything else is the same decision again. */
  async upsertDecision(db: Queryable, d: DecisionMade): Promise<void> {
    await db.query(
      `INSERT INTO "rollout"."decisions" AS d ("request_id", "project_id", "component_name", "version", "approved", "outcome", "body", "decided_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ("request_id") DO UPDATE SET "approved" = EXCLUDED."approved", "outcome" = EXCLUDED."outcome", "body" = EXCLUDED."body", "decided_at" = EXCLUDED."decided_at"
        WHERE d."outcome" = 'ESCALATE_TO_HUMAN' AND EXCLUDED."outcome" <> 'ESCALATE_TO_HUMAN'`,
      [d.requestId, d.projectId, d.componentName, d.version, d.approved, d.outcome, JSON.stringify(d), d.decidedAt],
    );
  },

  async decision(db: Queryable, requestId: string): Promise<StoredDecision | undefined> {
    const [row] = (await db.query(
      `SELECT "request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName", "version", "approved", "outcome", "body"
         FROM "rollout"."decisions" WHERE "request_id" = $1`,
      [requestId],
    )) as StoredDecision[];
    return row;
  },

  async rollout(db: Queryable, requestId: string, lock = false): Promise<RolloutRow | undefined> {
    const [row] = (await db.query(`SELECT ${ROLLOUT_COLUMNS} FROM "rollout"."rollouts" WHERE "request_id" = $1${lock ? ' FOR UPDATE' : ''}`, [requestId])) as RolloutRow[];
    return row;
  },

  /** The newest watched rollout of a component (Flagger and Argo name a workload, not a request). */
  async activeRolloutOf(db: Queryable, projectId: string | undefined, componentName: string): Promise<RolloutRow | undefined> {
    const [row] = (await db.query(
      `SELECT ${ROLLOUT_COLUMNS} FROM "rollout"."rollouts"
        WHERE "component_name" = $1 AND ($2::text IS NULL OR "project_id" = $2)
        ORDER BY ("status" IN ('in-progress', 'paused', 'rollback-requested')) DESC, "started_at" DESC LIMIT 1`,
      [componentName, projectId ?? null],
    )) as RolloutRow[];
    return row;
  },

  async insertRollout(db: Queryable, r: Pick<RolloutRow, 'requestId' | 'projectId' | 'componentName' | 'version' | 'percent' | 'emergency'>, firstEvaluationAt: Date): Promise<void> {
    await db.query(
      `INSERT INTO "rollout"."rollouts" ("request_id", "project_id", "component_name", "version", "status", "percent", "emergency", "next_evaluation_at")
       VALUES ($1, $2, $3, $4, 'in-progress', $5, $6, $7)`,
      [r.requestId, r.projectId, r.componentName, r.version, r.percent, r.emergency, firstEvaluationAt],
    );
  },

  async updateProgress(db: Queryable, requestId: string, status: RolloutStatus, percent: number | null, resetInconclusive: boolean): Promise<void> {
    await db.query(
      `UPDATE "rollout"."rollouts" SET "status" = $2, "percent" = COALESCE($3, "percent"), "updated_at" = now(),
              "consecutive_inconclusive" = CASE WHEN $4 THEN 0 ELSE "consecutive_inconclusive" END
        WHERE "request_id" = $1`,
      [requestId, status, percent, resetInconclusive],
    );
  },

  async recordEvaluation(
    db: Queryable,
    requestId: string,
    e: { status: RolloutStatus; revision: number; verdict: RolloutVerdict; liveScore: number; consecutiveInconclusive: number; criteria: CriterionResult[]; nextEvaluationAt: Date },
  ): Promise<void> {
    await db.query(
      `UPDATE "rollout"."rollouts" SET "status" = $2, "revision" = $3, "verdict" = $4, "live_score" = $5, "consecutive_inconclusive" = $6,
              "criteria" = $7, "next_evaluation_at" = $8, "updated_at" = now()
        WHERE "request_id" = $1`,
      [requestId, e.status, e.revision, e.verdict, e.liveScore, e.consecutiveInconclusive, JSON.stringify(e.criteria), e.nextEvaluationAt],
    );
  },

  /** Watched rollouts whose evaluation is due (not locked: Prometheus is asked before the transaction). */
  async dueRollouts(db: Queryable, limit: number): Promise<RolloutRow[]> {
    return db.query(
      `SELECT ${ROLLOUT_COLUMNS} FROM "rollout"."rollouts" WHERE "status" IN ('in-progress', 'paused') AND "next_evaluation_at" <= now()
        ORDER BY "next_evaluation_at" LIMIT $1`,
      [limit],
    );
  },

  /** Locks one due rollout for its evaluation; undefined when another replica has it or already evaluated it. */
  async claimDue(db: Queryable, requestId: string): Promise<RolloutRow | undefined> {
    const [row] = (await db.query(
      `SELECT ${ROLLOUT_COLUMNS} FROM "rollout"."rollouts" WHERE "request_id" = $1 AND "status" IN ('in-progress', 'paused') AND "next_evaluation_at" <= now()
        FOR UPDATE SKIP LOCKED`,
      [requestId],
    )) as RolloutRow[];
    return row;
  },

  async insertSignals(db: Queryable, requestId: string, readings: Reading[]): Promise<void> {
    if (!readings.length) return;
    await db.query(
      `INSERT INTO "rollout"."signals" ("request_id", "name", "value", "unit", "at", "source")
       SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::text[], $5::timestamptz[], $6::text[])`,
      [requestId, readings.map((r) => r.name), readings.map((r) => r.value), readings.map((r) => r.unit), readings.map((r) => r.at), readings.map((r) => r.source)],
    );
  },

  /** The newest reading of each signal of a request taken since `since`. */
  async latestReadings(db: Queryable, requestId: string, since: Date): Promise<Reading[]> {
    const rows: Array<{ name: string; value: number; unit: string | null; at: Date; source: Reading['source'] }> = await db.query(
      `SELECT DISTINCT ON ("name") "name", "value", "unit", "at", "source" FROM "rollout"."signals"
        WHERE "request_id" = $1 AND "at" >= $2 ORDER BY "name", "at" DESC, "id" DESC`,
      [requestId, since],
    );
    return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  },

  async insertRollback(db: Queryable, r: Omit<RollbackRow, 'warnedAt' | 'breachedAt' | 'completedAt' | 'confirmedBy'>): Promise<boolean> {
    const rows: unknown[] = await db.query(
      `INSERT INTO "rollout"."rollbacks" ("request_id", "project_id", "component_name", "reason", "signal_at", "requested_at", "warn_at", "due_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT ("request_id") DO NOTHING RETURNING "request_id"`,
      [r.requestId, r.projectId, r.componentName, r.reason, r.signalAt, r.requestedAt, r.warnAt, r.dueAt],
    );
    return rows.length > 0;
  },

  async rollback(db: Queryable, requestId: string): Promise<RollbackRow | undefined> {
    const [row] = (await db.query(`SELECT ${ROLLBACK_COLUMNS} FROM "rollout"."rollbacks" WHERE "request_id" = $1`, [requestId])) as RollbackRow[];
    return row;
  },

  async completeRollback(db: Queryable, requestId: string, confirmedBy: string): Promise<RollbackRow | undefined> {
    const [row] = (await db.query(
      `UPDATE "rollout"."rollbacks" SET "completed_at" = now(), "confirmed_by" = $2 WHERE "request_id" = $1 AND "completed_at" IS NULL RETURNING ${ROLLBACK_COLUMNS}`,
      [requestId, confirmedBy],
    )) as [RollbackRow[], number] | RollbackRow[];
    return Array.isArray(row) ? (row as RollbackRow[])[0] : row;
  },

  /** Open rollbacks whose warning or breach is due, locked for this transaction (other replicas skip them). */
  async claimDueRollbackTimers(db: Queryable, limit: number): Promise<RollbackRow[]> {
    return db.query(
      `SELECT ${ROLLBACK_COLUMNS} FROM "rollout"."rollbacks"
        WHERE "completed_at" IS NULL AND (("warned_at" IS NULL AND "warn_at" <= now()) OR ("breached_at" IS NULL AND "due_at" <= now()))
        ORDER BY "warn_at" LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  },

  async markRollbackTimer(db: Queryable, requestId: string, stage: 'warning' | 'breached'): Promise<void> {
    const column = stage === 'warning' ? 'warned_at' : 'breached_at';
    await db.query(`UPDATE "rollout"."rollbacks" SET "${column}" = now()${stage === 'breached' ? ', "warned_at" = COALESCE("warned_at", now())' : ''} WHERE "request_id" = $1`, [requestId]);
  },
};
