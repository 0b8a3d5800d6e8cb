import { type AuditEntryContent, type AuditRow, auditEntryFromRow, CanonicalJsonText, type ChainedAuditEntry, canonicalJson, chainEntry } from '@agf/compliance-domain';
import type { CloudEventEnvelope } from '@agf/contracts';
import type { EntityManager } from 'typeorm';
import { personalValues, type SealingReads } from './privacy/personal-values.repository';

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

interface ChainHead {
  sequence: string;
  entry_hash: string;
}

/** An event to append: its payload is the canonical JSON text that is stored and hashed as it is. */
type NewEntry = Omit<AuditEntryContent, 'sequence' | 'recordedAt' | 'payload'> & { payload: string };

/**
 * Appends entries after `head` (locked by the caller's transaction) in their order, and moves the head to the
 * last of them, in one statement, with the data-modifying `ctes` (parameters `params`, numbered from 1) beside.
 */
async function appendAfter(m: Queryable, head: ChainHead, entries: NewEntry[], beside: { ctes: string[]; params: unknown[] } = { ctes: [], params: [] }): Promise<void> {
  const recordedAt = new Date().toISOString();
  let previousHash = head.entry_hash;
  let sequence = Number(head.sequence);
  const values: unknown[] = [...beside.params];
  const tuples: string[] = [];
  for (const { payload, ...fields } of entries) {
    sequence += 1;
    const entry = chainEntry({ ...fields, sequence, recordedAt, payload: new CanonicalJsonText(payload) }, previousHash);
    previousHash = entry.entryHash;
    const base = values.length;
    values.push(entry.sequence, entry.eventId, entry.eventType, entry.subject, entry.correlationId, entry.occurredAt, entry.recordedAt, payload, entry.previousHash, entry.contentHash, entry.entryHash);
    tuples.push(entryPlaceholders(base));
  }
  const next = values.length;
  values.push(sequence, previousHash);
  await m.query(
    `WITH ${[...beside.ctes, ''].join(', ')}"appended" AS (
       INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at",
         "payload", "previous_hash", "content_hash", "entry_hash") VALUES ${tuples.join(', ')})
     UPDATE "compliance"."chain_head" SET "sequence" = $${next + 1}, "entry_hash" = $${next + 2}`,
    values,
  );
}

/** `($n, …)` of an entry's 11 columns after `base` parameters. */
function entryPlaceholders(base: number): string {
  let tuple = `($${base + 1}`;
  for (let i = 2; i <= 11; i += 1) tuple += `, $${base + i}`;
  return `${tuple})`;
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
    // Personal fields are chained as salted commitments, their values kept beside the chain (erasable). What
    // sealing needs is read with the head, and what it keeps is written with the entries: two statements.
    const people = await personalValues.peopleOf(m, events);
    const heads: Array<ChainHead & { known: string[] } & SealingReads> = await m.query(
      `SELECT h."sequence", h."entry_hash",
              ARRAY(SELECT a."event_id" FROM "compliance"."audit_entries" a WHERE a."event_id" = ANY($1::text[])
                    UNION ALL SELECT p."event_id" FROM "compliance"."audit_pending" p WHERE p."event_id" = ANY($1::text[])) AS "known",
              ${personalValues.readColumns(2, 3)}
         FROM "compliance"."chain_head" h FOR UPDATE OF h`,
      [people.eventIds, people.correlations, people.digests],
    );
    const head = heads[0];
    if (!head) throw new Error('compliance.chain_head is missing: the migration did not run');
    const known = new Set(head.known);
    // Also once per id within the batch.
    const fresh: CloudEventEnvelope[] = [];
    for (const e of events) {
      if (known.has(e.id)) continue;
      known.add(e.id);
      fresh.push(e);
    }
    if (!fresh.length) return [];
    const { sealed, writes } = personalValues.seal(fresh, people, head);
    const entries: NewEntry[] = [];
    const types: string[] = [];
    for (const e of fresh) {
      entries.push({ eventId: e.id, eventType: e.type, subject: e.subject, correlationId: e.correlationid ?? null, occurredAt: e.time, payload: canonicalJson(sealed.get(e.id)) });
      types.push(e.type);
    }
    await appendAfter(m, head, entries, personalValues.writeCtes(writes, 1));
    return types;
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
    const heads: ChainHead[] = await m.query(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head" FOR UPDATE`);
    const head = heads[0];
    if (!head) throw new Error('compliance.chain_head is missing: the migration did not run');
    const pending: PendingRow[] = await m.query(`SELECT * FROM "compliance"."audit_pending" ORDER BY "arrival" LIMIT $1`, [limit]);
    if (!pending.length) return 0;
    // Stored as canonicalJson(event) by the earlier version: hashed as it is (the verifier parses it independently).
    await appendAfter(
      m,
      head,
      pending.map((row) => ({ eventId: row.event_id, eventType: row.event_type, subject: row.subject, correlationId: row.correlation_id, occurredAt: row.occurred_at, payload: row.payload })),
    );
    await m.query(`DELETE FROM "compliance"."audit_pending" WHERE "arrival" = ANY($1::bigint[])`, [pending.map((p) => p.arrival)]);
    return pending.length;
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

  /** The hash of the chain's first entry (undefined while the chain is empty): the chain's identity. */
  async firstEntryHash(m: Queryable): Promise<string | undefined> {
    const rows: { entry_hash: string }[] = await m.query(`SELECT "entry_hash" FROM "compliance"."audit_entries" WHERE "sequence" = 1`);
    return rows[0]?.entry_hash;
  },

  async byEventIds(m: Queryable, eventIds: string[]): Promise<ChainedAuditEntry[]> {
    if (!eventIds.length) return [];
    const rows: AuditRow[] = await m.query(`SELECT * FROM "compliance"."audit_entries" WHERE "event_id" = ANY($1::text[]) ORDER BY "sequence"`, [eventIds]);
    return rows.map(auditEntryFromRow);
  },

  async trailOf(m: Queryable, correlationId: string, limit: number): Promise<ChainedAuditEntry[]> {
    const rows: AuditRow[] = await m.query(`SELECT * FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 ORDER BY "sequence" LIMIT $2`, [correlationId, limit]);
    return rows.map(auditEntryFromRow);
  },
};
