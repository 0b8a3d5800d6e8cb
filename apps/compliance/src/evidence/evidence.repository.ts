import { type AuditRow, auditEntryFromRow, type ChainedAuditEntry, type EvidenceRef } from '@agf/compliance-domain';
import { eventType } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

const REQUESTED = eventType('deployment.requested');
const REFUSED = eventType('security.refused');
const AUDIT_READ = eventType('security.audit.read');

/**
 * SQL of evidence reports: everything comes from compliance's own audit trail (the events it chained as it
 * received them), never from another service's schema. Times are compared as the ISO text the events carry.
 */
export const evidenceRepository = {
  /** The changes requested in [from, to) (of one project, when given): the report's population, oldest first. */
  async requestIdsInPeriod(m: Queryable, from: string, to: string, projectId: string | undefined, limit: number): Promise<string[]> {
    const rows: { correlation_id: string }[] = await m.query(
      `SELECT "correlation_id" FROM "compliance"."audit_entries"
        WHERE "event_type" = $1 AND "occurred_at" >= $2 AND "occurred_at" < $3
          AND ($4::text IS NULL OR ("payload"::jsonb #>> '{data,projectId}') = $4)
        ORDER BY "sequence" LIMIT $5`,
      [REQUESTED, from, to, projectId ?? null, limit],
    );
    return rows.map((r) => r.correlation_id);
  },

  /** Every audit entry of these changes, in chain order (each entry is its own evidence: hashes included). */
  async entriesOf(m: Queryable, requestIds: string[]): Promise<ChainedAuditEntry[]> {
    if (!requestIds.length) return [];
    const rows: AuditRow[] = await m.query(`SELECT * FROM "compliance"."audit_entries" WHERE "correlation_id" = ANY($1::text[]) ORDER BY "sequence"`, [requestIds]);
    return rows.map(auditEntryFromRow);
  },

  /** Refused access in the period (bounded), and how many times the trail was read. */
  async securityInPeriod(m: Queryable, from: string, to: string, limit: number): Promise<{ refused: EvidenceRef[]; auditReads: number }> {
    const refused: Array<{ sequence: string; event_type: string; entry_hash: string }> = await m.query(
      `SELECT "sequence", "event_type", "entry_hash" FROM "compliance"."audit_entries" WHERE "event_type" = $1 AND "occurred_at" >= $2 AND "occurred_at" < $3 ORDER BY "sequence" LIMIT $4`,
      [REFUSED, from, to, limit],
    );
    const reads: { count: string }[] = await m.query(
      `SELECT count(*) AS "count" FROM "compliance"."audit_entries" WHERE "event_type" = $1 AND "occurred_at" >= $2 AND "occurred_at" < $3`,
      [AUDIT_READ, from, to],
    );
    return { refused: refused.map((r) => ({ sequence: Number(r.sequence), eventType: r.event_type, entryHash: r.entry_hash })), auditReads: Number(reads[0]?.count ?? 0) };
  },
};
