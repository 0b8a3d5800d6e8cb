import { type AuditRow, auditEntryFromRow, type ChainedAuditEntry, canonicalJson, chainEntry } from '@agf/compliance-domain';
import type { CloudEventEnvelope } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/** SQL of the audit trail. Appends run in the message's transaction, so an event is audited exactly when it is processed. */
export const auditRepository = {
  /**
   * Appends one event to the chain; false when it is already there (the same event id published twice).
   * Locking the head row serialises appenders across replicas, so sequence and previous hash never fork.
   */
  async append(m: Queryable, event: CloudEventEnvelope): Promise<boolean> {
    const heads: { sequence: string; entry_hash: string }[] = await m.query(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head" FOR UPDATE`);
    const head = heads[0];
    if (!head) throw new Error('compliance.chain_head is missing: the migration did not run');
    const known: unknown[] = await m.query(`SELECT 1 FROM "compliance"."audit_entries" WHERE "event_id" = $1`, [event.id]);
    if (known.length) return false;
    const entry = chainEntry(
      {
        sequence: Number(head.sequence) + 1,
        eventId: event.id,
        eventType: event.type,
        subject: event.subject,
        correlationId: event.correlationid ?? null,
        occurredAt: event.time,
        recordedAt: new Date().toISOString(),
        payload: event,
      },
      head.entry_hash,
    );
    await m.query(
      `INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at",
         "payload", "previous_hash", "content_hash", "entry_hash") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [entry.sequence, entry.eventId, entry.eventType, entry.subject, entry.correlationId, entry.occurredAt, entry.recordedAt, canonicalJson(entry.payload), entry.previousHash, entry.contentHash, entry.entryHash],
    );
    await m.query(`UPDATE "compliance"."chain_head" SET "sequence" = $1, "entry_hash" = $2`, [entry.sequence, entry.entryHash]);
    return true;
  },

  /** Entries after `afterSequence`, oldest first: keyset paging keeps a walk over millions of rows cheap. */
  async page(m: Queryable, afterSequence: number, limit: number): Promise<ChainedAuditEntry[]> {
    const rows: AuditRow[] = await m.query(`SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, [afterSequence, limit]);
    return rows.map(auditEntryFromRow);
  },

  async head(m: Queryable): Promise<{ sequence: number; entryHash: string }> {
    const rows: { sequence: string; entry_hash: string }[] = await m.query(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
    return { sequence: Number(rows[0]?.sequence ?? 0), entryHash: rows[0]?.entry_hash ?? '0'.repeat(64) };
  },

  async trailOf(m: Queryable, correlationId: string, limit: number): Promise<ChainedAuditEntry[]> {
    const rows: AuditRow[] = await m.query(`SELECT * FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 ORDER BY "sequence" LIMIT $2`, [correlationId, limit]);
    return rows.map(auditEntryFromRow);
  },
};
