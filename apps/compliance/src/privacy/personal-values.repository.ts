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

/** SQL of the personal values beside the audit chain. */
export const personalValues = {
  /**
   * Seals the personal fields of events about to be chained: stores their values (not those of people already
   * erased) and the people of each change, and returns each event with commitments in place of its values.
   */
  async seal(m: Queryable, events: CloudEventEnvelope[]): Promise<Map<string, unknown>> {
    const key = await privacyKey(m);
    // A batch names the same people again and again (each event of a change, each field): one HMAC each.
    const digests = new Map<string, string>();
    const digestOf = (subject: string): string => {
      let digest = digests.get(subject);
      if (digest === undefined) digests.set(subject, (digest = subjectDigest(key, subject)));
      return digest;
    };
    const correlations = [...new Set(events.map((e) => e.correlationid))];
    const known: { correlation_id: string; person: string }[] = await m.query(
      `SELECT "correlation_id", "person" FROM "compliance"."change_people" WHERE "correlation_id" = ANY($1::text[])`,
      [correlations],
    );
    const erased = new Set<string>();
    const peopleOf = new Map<string, Set<string>>(correlations.map((c) => [c, new Set<string>()]));
    for (const row of known) peopleOf.get(row.correlation_id)!.add(row.person);
    const fresh: Array<[string, string]> = [];
    for (const event of events) {
      for (const person of peopleIn(event.data)) {
        const digest = digestOf(person);
        if (!peopleOf.get(event.correlationid)!.has(digest)) fresh.push([event.correlationid, digest]);
        peopleOf.get(event.correlationid)!.add(digest);
      }
    }
    const everyone = [...new Set([...peopleOf.values()].flatMap((s) => [...s]))];
    const erasedRows: { subject_commitment: string }[] = everyone.length
      ? await m.query(`SELECT DISTINCT "subject_commitment" FROM "compliance"."erasures" WHERE "subject_commitment" = ANY($1::text[])`, [everyone])
      : [];
    erasedRows.forEach((r) => erased.add(r.subject_commitment));
    const sealed = new Map<string, unknown>();
    const kept: Array<PersonalValue & { eventId: string }> = [];
    for (const event of events) {
      const result = sealPersonalFields(event, digestOf, peopleOf.get(event.correlationid)!);
      sealed.set(event.id, result.sealed);
      // A value about someone erased already is not kept at all: it shows as erased from the start.
      for (const value of result.values) if (!value.owners.some((o) => erased.has(o))) kept.push({ ...value, eventId: event.id });
    }
    if (fresh.length) {
      await m.query(
        `INSERT INTO "compliance"."change_people" ("correlation_id", "person") SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
        [fresh.map((f) => f[0]), fresh.map((f) => f[1])],
      );
    }
    if (kept.length) {
      await m.query(
        `INSERT INTO "compliance"."personal_values" ("id", "event_id", "owners", "value", "salt")
         SELECT v."id", v."event_id", ARRAY(SELECT jsonb_array_elements_text(v."owners")), v."value", v."salt"
           FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[]) AS v("id", "event_id", "owners", "value", "salt")`,
        [kept.map((v) => v.id), kept.map((v) => v.eventId), kept.map((v) => JSON.stringify(v.owners)), kept.map((v) => JSON.stringify(v.value)), kept.map((v) => v.salt)],
      );
    }
    return sealed;
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
