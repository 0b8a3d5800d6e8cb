import type { DataSource, EntityManager } from 'typeorm';
import { type OutboxRow, outboxArrays, outboxInsertFromArrays } from './outbox';

/**
 * Records that `consumer` processed these messages and writes the events their handlers emitted, in one
 * statement at the end of the transaction (instead of a claim first and an insert last). Returns how many
 * entries were claimed here: fewer than `eventIds.length` means a duplicate (or a redelivery processed
 * meanwhile) is among them, and the caller must roll back. A concurrent claim of the same id waits on the
 * primary key until the other transaction ends, so two replicas never both win; ids are claimed in sorted
 * order, so two batches claiming the same ids cannot deadlock on each other. (No `*` in it: such statements
 * are not prepared, and this one runs in every transaction.)
 */
export async function claimInboxEntriesWithOutbox(
  manager: EntityManager,
  schema: string,
  consumer: string,
  eventIds: string[],
  outboxRows: OutboxRow[],
): Promise<number> {
  const rows: Array<{ claimed: number }> = await manager.query(
    `WITH "claimed" AS (
       INSERT INTO "${schema}"."inbox" ("consumer", "event_id") SELECT $1, "id" FROM unnest($2::text[]) AS "ids"("id") ORDER BY "id"
       ON CONFLICT DO NOTHING RETURNING "event_id"),
     "written" AS (${outboxInsertFromArrays(schema, 3)})
     SELECT count("event_id")::int AS "claimed" FROM "claimed"`,
    [consumer, eventIds, ...outboxArrays(outboxRows)],
  );
  return rows[0]?.claimed ?? 0;
}

/** Whether `consumer` has processed `eventId` (committed). */
export async function isInboxClaimed(queryable: Pick<EntityManager, 'query'>, schema: string, consumer: string, eventId: string): Promise<boolean> {
  const rows: unknown[] = await queryable.query(`SELECT 1 FROM "${schema}"."inbox" WHERE "consumer" = $1 AND "event_id" = $2`, [consumer, eventId]);
  return rows.length === 1;
}

/**
 * Forgets inbox entries older than `retainMs` (see `inboxRetentionMs`), a chunk per statement so that no
 * statement holds many row locks or runs long; returns how many were deleted.
 */
export async function purgeInbox(dataSource: Pick<DataSource, 'query'>, schema: string, retainMs: number, chunk = 5000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const [, count]: [unknown, number] = await dataSource.query(
      `DELETE FROM "${schema}"."inbox" WHERE ("consumer", "event_id") IN (
         SELECT "consumer", "event_id" FROM "${schema}"."inbox" WHERE "processed_at" < now() - ($1::bigint * interval '1 millisecond') LIMIT $2)`,
      [retainMs, chunk],
    );
    deleted += count;
    if (count < chunk) return deleted;
  }
}
