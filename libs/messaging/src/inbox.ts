import type { EntityManager } from 'typeorm';

/**
 * Records that `consumer` processed `eventId`, in the caller's transaction. Returns false when it was
 * already processed: a duplicate or redelivery that must have no second effect. A concurrent claim of the
 * same id waits on the primary key until the first transaction ends, so two replicas never both win.
 */
export async function claimInboxEntry(manager: EntityManager, schema: string, consumer: string, eventId: string): Promise<boolean> {
  const [claimed] = await claimInboxEntries(manager, schema, consumer, [eventId]);
  return claimed === true;
}

/**
 * `claimInboxEntry` for a batch, in one statement: element i is true when `eventIds[i]` was claimed here. An
 * id that occurs twice in the batch is claimed by its first occurrence only.
 */
export async function claimInboxEntries(manager: EntityManager, schema: string, consumer: string, eventIds: string[]): Promise<boolean[]> {
  if (!eventIds.length) return [];
  const rows: Array<{ event_id: string }> = await manager.query(
    `INSERT INTO "${schema}"."inbox" ("consumer", "event_id") SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING "event_id"`,
    [consumer, eventIds],
  );
  const claimedHere = new Set(rows.map((row) => row.event_id));
  return eventIds.map((id) => claimedHere.delete(id));
}
