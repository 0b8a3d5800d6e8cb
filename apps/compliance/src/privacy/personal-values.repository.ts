import { type ChainedAuditEntry, type PersonalValue, peopleIn, revealPersonalFields, sealedIdsIn, sealPersonalFields, subjectDigest } from '@agf/compliance-domain';
import type { CloudEventEnvelope } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

let hmacKey: string | undefined;

/** The key people are known by beside the chain; read once per process (it never changes). */
export async function privacyKey(m: Queryable): Promise<string> {
  if (hmacKey) return hmacKey;
  const rows: { hmac_key: string }[] = await m.query(`SELECT "hmac_key" FROM "compliance"."privacy_key"`);
  if (!rows[0]) throw new Error('compliance.privacy_key is missing: the migration did not run');
  hmacKey = rows[0].hmac_key;
  return hmacKey;
}

/** The people a batch of events names, known by their digests before anything is read. */
export interface BatchPeople {
  digestOf: (subject: string) => string;
  /** Each event's people (digests), by event id. */
  byEvent: Map<string, string[]>;
  correlations: string[];
  eventIds: string[];
  /** Every digest the events name. */
  digests: string[];
}

/** What sealing a batch reads, in the statement that locks the chain head (`auditRepository.appendAll`). */
export interface SealingReads {
  /** The people already recorded for the batch's changes: `[correlation id, digest]`. */
  people: Array<[string, string]>;
  /** Digests of people erased, among the batch's and its changes' people. */
  erased: string[];
}

/** What sealing a batch leaves to write, in the statement that appends to the chain. */
export interface SealingWrites {
  /** People new to their change: `[correlation id, digest]`. */
  people: Array<[string, string]>;
  values: Array<PersonalValue & { eventId: string }>;
}

/** SQL of the personal values beside the audit chain. */
export const personalValues = {
  /** The digests of the people each event names (one HMAC per person and batch: a batch names the same people again and again). */
  async peopleOf(m: Queryable, events: CloudEventEnvelope[]): Promise<BatchPeople> {
    const key = await privacyKey(m);
    const digests = new Map<string, string>();
    const digestOf = (subject: string): string => {
      let digest = digests.get(subject);
      if (digest === undefined) digests.set(subject, (digest = subjectDigest(key, subject)));
      return digest;
    };
    // Loops rather than callbacks on the batch path: see `invokeInSpan` (libs/messaging) on V8's closures.
    const byEvent = new Map<string, string[]>();
    const correlations = new Set<string>();
    const eventIds: string[] = [];
    for (const event of events) {
      eventIds.push(event.id);
      const eventDigests: string[] = [];
      for (const person of peopleIn(event.data)) eventDigests.push(digestOf(person));
      byEvent.set(event.id, eventDigests);
      correlations.add(event.correlationid);
    }
    return { digestOf, byEvent, correlations: [...correlations], eventIds, digests: [...new Set(digests.values())] };
  },

  /**
   * Output columns `people` and `erased` (`SealingReads`) for a statement whose parameter `correlations` holds
   * the batch's correlation ids and `digests` the people its events name. The digests are compared as the
   * column's char(64): compared as text, the erasures (which only grow) could not be read through their index.
   */
  readColumns(correlations: number, digests: number): string {
    return `(SELECT COALESCE(json_agg(json_build_array(c."correlation_id", c."person")), '[]'::json)
               FROM "compliance"."change_people" c WHERE c."correlation_id" = ANY($${correlations}::text[])) AS "people",
            ARRAY(SELECT DISTINCT e."subject_commitment"::text FROM "compliance"."erasures" e
                   WHERE e."subject_commitment" = ANY($${digests}::char(64)[] || ARRAY(SELECT c."person" FROM "compliance"."change_people" c
                                                                                    WHERE c."correlation_id" = ANY($${correlations}::text[])))) AS "erased"`;
  },

  /**
   * Replaces the personal fields of events about to be chained by commitments (pure: `reads` is what the
   * database holds). Values about people already erased are not kept at all: they show as erased from the start.
   */
  seal(events: CloudEventEnvelope[], people: BatchPeople, reads: SealingReads): { sealed: Map<string, unknown>; writes: SealingWrites } {
    const erased = new Set(reads.erased);
    const peopleOf = new Map<string, Set<string>>(people.correlations.map((c) => [c, new Set<string>()]));
    for (const [correlation, person] of reads.people) peopleOf.get(correlation)?.add(person);
    const writes: SealingWrites = { people: [], values: [] };
    for (const event of events) {
      const known = peopleOf.get(event.correlationid)!;
      for (const digest of people.byEvent.get(event.id) ?? []) {
        if (!known.has(digest)) writes.people.push([event.correlationid, digest]);
        known.add(digest);
      }
    }
    const sealed = new Map<string, unknown>();
    for (const event of events) {
      const result = sealPersonalFields(event, people.digestOf, peopleOf.get(event.correlationid)!);
      sealed.set(event.id, result.sealed);
      for (const value of result.values) if (!value.owners.some((o) => erased.has(o))) writes.values.push({ ...value, eventId: event.id });
    }
    return { sealed, writes };
  },

  /** Data-modifying CTEs storing `writes`, their parameters numbered from `firstParam` on. */
  writeCtes(writes: SealingWrites, firstParam: number): { ctes: string[]; params: unknown[] } {
    const ctes: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${firstParam + params.length - 1}`;
    };
    if (writes.people.length) {
      ctes.push(`"change_people_added" AS (
         INSERT INTO "compliance"."change_people" ("correlation_id", "person")
         SELECT * FROM unnest(${param(writes.people.map((p) => p[0]))}::text[], ${param(writes.people.map((p) => p[1]))}::text[]) ON CONFLICT DO NOTHING)`);
    }
    if (writes.values.length) {
      const columns = { id: [] as string[], eventId: [] as string[], owners: [] as string[], value: [] as string[], salt: [] as string[] };
      for (const v of writes.values) {
        columns.id.push(v.id);
        columns.eventId.push(v.eventId);
        columns.owners.push(JSON.stringify(v.owners));
        columns.value.push(JSON.stringify(v.value));
        columns.salt.push(v.salt);
      }
      ctes.push(`"personal_values_kept" AS (
         INSERT INTO "compliance"."personal_values" ("id", "event_id", "owners", "value", "salt")
         SELECT v."id", v."event_id", ARRAY(SELECT jsonb_array_elements_text(v."owners")), v."value", v."salt"
           FROM unnest(${param(columns.id)}::uuid[], ${param(columns.eventId)}::text[], ${param(columns.owners)}::jsonb[],
                       ${param(columns.value)}::jsonb[], ${param(columns.salt)}::text[]) AS v("id", "event_id", "owners", "value", "salt"))`);
    }
    return { ctes, params };
  },

  /** Entries as people read them: each commitment replaced by its value, or `[erased]`. Hashes stay those of the stored entries. */
  async reveal(m: Queryable, entries: ChainedAuditEntry[]): Promise<ChainedAuditEntry[]> {
    const ids = [...new Set(entries.flatMap((e) => sealedIdsIn(e.payload)))];
    if (!ids.length) return entries;
    const rows: { id: string; value: unknown; salt: string }[] = await m.query(`SELECT "id", "value", "salt" FROM "compliance"."personal_values" WHERE "id" = ANY($1::uuid[])`, [ids]);
    const kept = new Map(rows.map((r) => [r.id, { value: r.value, salt: r.salt }]));
    return entries.map((e) => ({ ...e, payload: revealPersonalFields(e.payload, kept) }));
  },
};
