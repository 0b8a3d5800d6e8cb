import { EventEmitter } from 'node:events';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface RequestEventRow {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  recorded_at: Date;
}

/**
 * Appends events to their requests' stories, numbered per request after what is stored. The caller
 * (`projectReadModelEvents`) has locked the request rows, in id order, so two transactions never number the
 * same request's events at once. Events of a request intake does not know are left out: no story to add to.
 */
export async function recordRequestEvents(db: Queryable, events: readonly { name: string; data: { requestId: string } }[]): Promise<void> {
  if (!events.length) return;
  // One loop rather than a callback per column: see `invokeInSpan` (libs/messaging) on V8's closures.
  const requestIds: string[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const order: number[] = [];
  for (const e of events) {
    requestIds.push(e.data.requestId);
    types.push(e.name);
    data.push(JSON.stringify(storedData(e.name, e.data)));
    order.push(order.length);
  }
  await db.query(
    `INSERT INTO "intake"."request_events" ("request_id", "seq", "type", "data")
     SELECT v."request_id",
            COALESCE((SELECT max(e."seq") FROM "intake"."request_events" e WHERE e."request_id" = v."request_id"), 0)
              + row_number() OVER (PARTITION BY v."request_id" ORDER BY v."ord"),
            v."type", v."data"
       FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::int[]) AS v("request_id", "type", "data", "ord")
      WHERE EXISTS (SELECT 1 FROM "intake"."requests" r WHERE r."id" = v."request_id")`,
    [requestIds, types, data, order],
  );
}

/** The copy of the request inside `risk.assessed` is the request itself: not repeated in its story. */
function storedData(type: string, data: object): Record<string, unknown> {
  if (type !== 'risk.assessed') return data as Record<string, unknown>;
  const { request: _request, ...risk } = data as Record<string, unknown>;
  return risk;
}

export async function readRequestEvents(db: Queryable, requestId: string, afterSeq: number, limit = 200): Promise<RequestEventRow[]> {
  return db.query(`SELECT "seq", "type", "data", "recorded_at" FROM "intake"."request_events" WHERE "request_id" = $1 AND "seq" > $2 ORDER BY "seq" LIMIT $3`, [
    requestId,
    afterSeq,
    limit,
  ]);
}

/**
 * Wakes this process's open event streams of a request once its new events are committed. Streams held by
 * another replica learn of them by reading again every few seconds.
 */
export const requestEventsCommitted = new EventEmitter().setMaxListeners(0);
