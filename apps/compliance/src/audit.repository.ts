import { type AuditRow, auditEntryFromRow, CanonicalJsonText, type ChainedAuditEntry, canonicalJson, chainEntry } from '@agf/compliance-domain';
import type { CloudEventEnvelope } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

interface PendingRow {
  arrival: string;
  event_id: string;
  event_type: string;
  subject: string;
  correlation_id: string | null;
  occurred_at: string;
  payload: string;
}

/** SQL of the audit trail. */
export const auditRepository = {
  /**
   * Appends events to the hash chain in the caller's transaction, in their order; idempotent by event id (one
   * already chained, or still waiting in `audit_pending`, is skipped). Returns the types of those appended.
   * Locks the chain head until the transaction ends, so call it last, right before the commit.
   */
  async appendAll(m: Queryable, events: CloudEventEnvelope[]): Promise<string[]> {
    if (!events.length) return [];
    const heads: { sequence: string; entry_hash: string; known: string[] }[] = await m.query(
      `SELECT h."sequence", h."entry_hash",
              ARRAY(SELECT a."event_id" FROM "compliance"."audit_entries" a WHERE a."event_id" = ANY($1::text[])
                    UNION ALL SELECT p."event_id" FROM "compliance"."audit_pending" p WHERE p."event_id" = ANY($1::text[])) AS "known"
         FROM "compliance"."chain_head" h FOR UPDATE`,
      [events.map((e) => e.id)],
    );
    const head = heads[0];
    if (!head) throw new Error('compliance.chain_head is missing: the migration did not run');
    const known = new Set(head.known);
    const fresh = events.filter((e) => !known.has(e.id) && known.add(e.id));
    if (!fresh.length) return [];
    const recordedAt = new Date().toISOString();
    let previousHash = head.entry_hash;
    let sequence = Number(head.sequence);
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const event of fresh) {
      sequence += 1;
      const payload = canonicalJson(event);
      const entry = chainEntry(
        {
          sequence,
          eventId: event.id,
          eventType: event.type,
          subject: event.subject,
          correlationId: event.correlationid ?? null,
          occurredAt: event.time,
          recordedAt,
          payload: new CanonicalJsonText(payload),
        },
        previousHash,
      );
      previousHash = entry.entryHash;
      const base = values.length;
      values.push(entry.sequence, entry.eventId, entry.eventType, entry.subject, entry.correlationId, entry.occurredAt, entry.recordedAt, payload, entry.previousHash, entry.contentHash, entry.entryHash);
      tuples.push(`(${Array.from({ length: 11 }, (_, i) => `$${base + i + 1}`).join(', ')})`);
    }
    const last = values.length;
    values.push(sequence, previousHash);
    await m.query(
      `WITH "appended" AS (
         INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at",
           "payload", "previous_hash", "content_hash", "entry_hash") VALUES ${tuples.join(', ')})
       UPDATE "compliance"."chain_head" SET "sequence" = $${last + 1}, "entry_hash" = $${last + 2}`,
      values,
    );
    return fresh.map((e) => e.type);
  },

  async anyPending(m: Queryable): Promise<boolean> {
    const rows: { pending: boolean }[] = await m.query(`SELECT EXISTS (SELECT 1 FROM "compliance"."audit_pending") AS "pending"`);
    return rows[0]?.pending === true;
  },

  /**
   * Appends up to `limit` events that a version before `appendAll` recorded in `audit_pending` to the chain, in
   * arrival order, in one transaction; returns how many. Locking the head row serialises appends across
   * replicas, so sequence and previous hash never fork.
   */
  async chainPending(m: Queryable, limit: number): Promise<number> {
    const heads: { sequence: string; entry_hash: string }[] = await m.query(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head" FOR UPDATE`);
    const head = heads[0];
    if (!head) throw new Error('compliance.chain_head is missing: the migration did not run');
    const pending: PendingRow[] = await m.query(`SELECT * FROM "compliance"."audit_pending" ORDER BY "arrival" LIMIT $1`, [limit]);
    if (!pending.length) return 0;
    const recordedAt = new Date().toISOString();
    let previousHash = head.entry_hash;
    let sequence = Number(head.sequence);
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const row of pending) {
      sequence += 1;
      const entry = chainEntry(
        {
          sequence,
          eventId: row.event_id,
          eventType: row.event_type,
          subject: row.subject,
          correlationId: row.correlation_id,
          occurredAt: row.occurred_at,
          recordedAt,
          // Stored as canonicalJson(event) by recordAll: hashed as it is (the verifier parses it independently).
          payload: new CanonicalJsonText(row.payload),
        },
        previousHash,
      );
      previousHash = entry.entryHash;
      const base = values.length;
      values.push(entry.sequence, entry.eventId, entry.eventType, entry.subject, entry.correlationId, entry.occurredAt, entry.recordedAt, row.payload, entry.previousHash, entry.contentHash, entry.entryHash);
      tuples.push(`(${Array.from({ length: 11 }, (_, i) => `$${base + i + 1}`).join(', ')})`);
    }
    await m.query(
      `INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at",
         "payload", "previous_hash", "content_hash", "entry_hash") VALUES ${tuples.join(', ')}`,
      values,
    );
    await m.query(`DELETE FROM "compliance"."audit_pending" WHERE "arrival" = ANY($1::bigint[])`, [pending.map((p) => p.arrival)]);
    await m.query(`UPDATE "compliance"."chain_head" SET "sequence" = $1, "entry_hash" = $2`, [sequence, previousHash]);
    return pending.length;
  },

  async pendingCount(m: Queryable): Promise<number> {
    const rows: { count: string }[] = await m.query(`SELECT count(*) AS "count" FROM "compliance"."audit_pending"`);
    return Number(rows[0]?.count ?? 0);
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
