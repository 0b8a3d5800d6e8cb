import type { Gate } from '@agf/integrations-domain';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface StoredDecision {
  requestId: string;
  projectId: string;
  outcome: string;
  approved: boolean;
  shadow: boolean;
  decisionRationale: string;
  conditions: string[];
  decidedAt: string;
}

export interface DueCallback {
  gateKey: string;
  requestId: string;
  provider: 'github' | 'gitlab';
  environment: string;
  callbackUrl: string;
  installationId: number | null;
  approved: boolean;
  comment: string;
  attempts: number;
}

export interface ShadowCounts {
  decisions: number;
  wouldHaveBlocked: number;
  wouldHaveEscalated: number;
  lastDecidedAt: string | null;
}

/** SQL of the integrations schema; every write is idempotent, so a redelivered webhook or event changes nothing. */
export const gatesRepository = {
  /** Stores a gate; false when it was already there. */
  async insertGate(db: Queryable, gate: Gate): Promise<boolean> {
    const rows: unknown[] = await db.query(
      `INSERT INTO "integrations"."gates" ("gate_key", "provider", "project_id", "environment", "callback_url", "installation_id")
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ("gate_key") DO NOTHING RETURNING "gate_key"`,
      [gate.gateKey, gate.provider, gate.projectId, gate.environment, gate.callbackUrl, gate.installationId ?? null],
    );
    return rows.length > 0;
  },

  async gateCount(db: Queryable): Promise<number> {
    const [row] = (await db.query(`SELECT count(*)::int AS "n" FROM "integrations"."gates"`)) as Array<{ n: number }>;
    return row!.n;
  },

  /** Links the request intake created for a gate; the gate, if it is now linked, or undefined. */
  async linkRequest(db: Queryable, gateKey: string, requestId: string): Promise<boolean> {
    const rows: unknown[] = await db.query(`UPDATE "integrations"."gates" SET "request_id" = $2 WHERE "gate_key" = $1 AND "request_id" IS NULL RETURNING "gate_key"`, [gateKey, requestId]);
    return rows.length > 0;
  },

  async gateOfRequest(db: Queryable, requestId: string): Promise<{ gateKey: string } | undefined> {
    const [row] = (await db.query(`SELECT "gate_key" AS "gateKey" FROM "integrations"."gates" WHERE "request_id" = $1`, [requestId])) as Array<{ gateKey: string }>;
    return row;
  },

  /** Keeps a final decision (the shadow report counts them, and a gate linked later still finds it). */
  async insertDecision(db: Queryable, decision: StoredDecision): Promise<boolean> {
    // An escalation's resolution replaces the escalation; anything else is the same decision again.
    const rows: unknown[] = await db.query(
      `INSERT INTO "integrations"."decisions" AS d ("request_id", "project_id", "approved", "outcome", "shadow", "body", "decided_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT ("request_id") DO UPDATE SET "approved" = EXCLUDED."approved", "outcome" = EXCLUDED."outcome", "shadow" = EXCLUDED."shadow",
              "body" = EXCLUDED."body", "decided_at" = EXCLUDED."decided_at"
        WHERE d."outcome" = 'ESCALATE_TO_HUMAN' AND EXCLUDED."outcome" <> 'ESCALATE_TO_HUMAN'
       RETURNING "request_id"`,
      [decision.requestId, decision.projectId, decision.approved, decision.outcome, decision.shadow, JSON.stringify(decision), decision.decidedAt],
    );
    return rows.length > 0;
  },

  async decisionOf(db: Queryable, requestId: string): Promise<StoredDecision | undefined> {
    const [row] = (await db.query(`SELECT "body" FROM "integrations"."decisions" WHERE "request_id" = $1`, [requestId])) as Array<{ body: StoredDecision }>;
    return row?.body;
  },

  /** Queues a gate's one callback; a second one for the same gate is ignored. */
  async enqueueCallback(db: Queryable, gateKey: string, requestId: string, approved: boolean, comment: string): Promise<boolean> {
    const rows: unknown[] = await db.query(
      `INSERT INTO "integrations"."callbacks" ("gate_key", "request_id", "approved", "comment") VALUES ($1, $2, $3, $4)
       ON CONFLICT ("gate_key") DO NOTHING RETURNING "gate_key"`,
      [gateKey, requestId, approved, comment],
    );
    return rows.length > 0;
  },

  /** Claims due callbacks (held by this transaction, skipped by other replicas). */
  async claimDue(db: Queryable, limit: number): Promise<DueCallback[]> {
    return db.query(
      `SELECT c."gate_key" AS "gateKey", c."request_id" AS "requestId", g."provider", g."environment", g."callback_url" AS "callbackUrl",
              g."installation_id"::float8 AS "installationId", c."approved", c."comment", c."attempts"
         FROM "integrations"."callbacks" c JOIN "integrations"."gates" g USING ("gate_key")
        WHERE c."sent_at" IS NULL AND c."failed_at" IS NULL AND c."next_attempt_at" <= now()
        ORDER BY c."next_attempt_at" LIMIT $1 FOR UPDATE OF c SKIP LOCKED`,
      [limit],
    );
  },

  async markSent(db: Queryable, gateKey: string): Promise<void> {
    await db.query(`UPDATE "integrations"."callbacks" SET "sent_at" = now(), "attempts" = "attempts" + 1, "last_error" = NULL WHERE "gate_key" = $1`, [gateKey]);
  },

  async markFailedAttempt(db: Queryable, gateKey: string, error: string, retryInMs: number | null): Promise<void> {
    await db.query(
      `UPDATE "integrations"."callbacks" SET "attempts" = "attempts" + 1, "last_error" = $2,
              "next_attempt_at" = CASE WHEN $3::int IS NULL THEN "next_attempt_at" ELSE now() + make_interval(secs => $3::int / 1000.0) END,
              "failed_at" = CASE WHEN $3::int IS NULL THEN now() ELSE NULL END
        WHERE "gate_key" = $1`,
      [gateKey, error.slice(0, 1024), retryInMs],
    );
  },

  async shadowCounts(db: Queryable, projectId: string): Promise<ShadowCounts> {
    const [row] = (await db.query(
      `SELECT count(*)::int AS "decisions",
              count(*) FILTER (WHERE NOT "approved" AND "outcome" <> 'ESCALATE_TO_HUMAN')::int AS "wouldHaveBlocked",
              count(*) FILTER (WHERE "outcome" = 'ESCALATE_TO_HUMAN')::int AS "wouldHaveEscalated",
              max("decided_at") AS "lastDecidedAt"
         FROM "integrations"."decisions" WHERE "project_id" = $1 AND "shadow"`,
      [projectId],
    )) as Array<{ decisions: number; wouldHaveBlocked: number; wouldHaveEscalated: number; lastDecidedAt: Date | null }>;
    return { ...row!, lastDecidedAt: row!.lastDecidedAt ? new Date(row!.lastDecidedAt).toISOString() : null };
  },
};
