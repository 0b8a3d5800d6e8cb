import type { DataSource, EntityManager } from 'typeorm';
import { type OutboxRow, outboxArrays, outboxInsertFromArrays } from './outbox';

/**
 * Set on a transaction's pg connection just before its last statement: the services' pg client sends the
 * COMMIT in the same write as that statement, one round trip less per transaction (`PreparingClient` in
 * @agf/platform). A client that does not know the mark ignores it, and the COMMIT follows as usual.
 */
export const COMMIT_WITH_NEXT_STATEMENT = Symbol.for('agf.commitWithNextStatement');

/**
 * Runs the last statement of the transaction `manager` belongs to, marked so that the COMMIT goes out with it
 * (outside a transaction, a plain query). Nothing may run in the transaction after it.
 */
export async function queryThenCommit<T = unknown>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T> {
  const runner = manager.queryRunner as { isTransactionActive?: boolean; databaseConnection?: Record<symbol, unknown> } | undefined;
  const connection = runner?.isTransactionActive ? runner.databaseConnection : undefined;
  if (connection) connection[COMMIT_WITH_NEXT_STATEMENT] = true;
  try {
    return (await manager.query(sql, parameters)) as T;
  } finally {
    if (connection) delete connection[COMMIT_WITH_NEXT_STATEMENT];
  }
}

/** An inbox entry of the transaction was claimed by an earlier delivery: nothing of the transaction commits. */
export class InboxEntryTaken extends Error {
  override name = 'InboxEntryTaken';
}

/**
 * Records that `consumer` processed these messages and writes the events their handlers emitted, in one
 * statement at the end of the transaction (instead of a claim first and an insert last), and commits: the
 * COMMIT goes out with the statement. An entry claimed before (a duplicate, or a redelivery processed
 * meanwhile) fails the statement, so that the transaction rolls back even though its COMMIT is already on its
 * way (Postgres ends a failed transaction's COMMIT as a rollback), and `InboxEntryTaken` is thrown. A
 * concurrent claim of the same id waits on the primary key until the other transaction ends, so two replicas
 * never both win; ids are claimed in sorted order, so two batches claiming the same ids cannot deadlock on
 * each other. (No `*` in it: such statements are not prepared, and this one runs in every transaction.)
 */
export async function claimInboxEntriesWithOutboxAndCommit(
  manager: EntityManager,
  schema: string,
  consumer: string,
  eventIds: string[],
  outboxRows: OutboxRow[],
): Promise<void> {
  try {
    await queryThenCommit(
      manager,
      `WITH "claimed" AS (
         INSERT INTO "${schema}"."inbox" ("consumer", "event_id") SELECT $1, "id" FROM unnest($2::text[]) AS "ids"("id") ORDER BY "id"
         RETURNING "event_id"),
       "written" AS (${outboxInsertFromArrays(schema, 3)})
       SELECT count("event_id")::int AS "claimed" FROM "claimed"`,
      [consumer, eventIds, ...outboxArrays(outboxRows)],
    );
  } catch (error) {
    if (isInboxConflict(error)) throw new InboxEntryTaken('a message was processed before');
    throw error;
  }
}

function isInboxConflict(error: unknown): boolean {
  const failure = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const cause = failure.driverError ?? failure;
  return cause.code === '23505' && cause.constraint === 'inbox_pkey';
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
