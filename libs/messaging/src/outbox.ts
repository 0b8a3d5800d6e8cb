import { createEvent, type CloudEvent, type EventName, LIMITS, type PayloadOf, subjectFor } from '@agf/contracts';
import { context, propagation } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import type { Namespace } from './namespace';

export interface OutgoingEvent<N extends EventName = EventName> {
  name: N;
  data: PayloadOf<N>;
  /** Deployment request id (CloudEvents subject and correlation id). */
  correlationId: string;
  /** Subject token; defaults to `data.projectId`. */
  subjectToken?: string;
  causationId?: string;
  /** A deterministic id makes a retried effect produce the same event, which JetStream then de-duplicates. */
  id?: string;
}

export interface OutboxRow {
  eventId: string;
  subject: string;
  payload: string;
  headers: Record<string, string>;
}

/** Current W3C trace context, so the event continues the trace it was emitted in. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'];
}

/**
 * An event too large to publish (over `LIMITS.maxEventBytes`). Thrown before it is written, so that what
 * emitted it rolls back (HTTP: 413; a message: dead-lettered at once) instead of committing an outbox row
 * the relay could never send.
 */
export class EventTooLarge extends Error {
  override name = 'EventTooLarge';
}

export function toOutboxRow<N extends EventName>(source: string, ns: Namespace, event: OutgoingEvent<N>): { row: OutboxRow; envelope: CloudEvent<N> } {
  const traceparent = currentTraceparent();
  const envelope = createEvent({
    name: event.name,
    source,
    data: event.data,
    correlationId: event.correlationId,
    causationId: event.causationId,
    traceparent,
    id: event.id,
  });
  const token = event.subjectToken ?? (event.data as { projectId?: string }).projectId;
  const payload = JSON.stringify(envelope);
  const bytes = Buffer.byteLength(payload);
  if (bytes > LIMITS.maxEventBytes) throw new EventTooLarge(`${event.name} would be ${bytes} bytes; a published event may have at most ${LIMITS.maxEventBytes}`);
  return {
    envelope,
    row: {
      eventId: envelope.id,
      subject: ns.subject(subjectFor(event.name, token)),
      payload,
      headers: traceparent ? { traceparent } : {},
    },
  };
}

/** Writes rows in the caller's transaction; `ON CONFLICT` makes a replayed effect write nothing twice. */
export async function insertOutboxRows(manager: EntityManager, schema: string, rows: OutboxRow[]): Promise<void> {
  if (!rows.length) return;
  await manager.query(outboxInsertFromArrays(schema, 1), outboxArrays(rows));
}

/**
 * An `INSERT` of outbox rows from four array parameters starting at `$first`, to fold into a larger statement
 * as a CTE (`outboxArrays` gives the values). Replayed rows are skipped (`ON CONFLICT`).
 */
export function outboxInsertFromArrays(schema: string, first: number): string {
  const [ids, subjects, payloads, headers] = [first, first + 1, first + 2, first + 3];
  return `INSERT INTO "${schema}"."outbox" ("event_id", "subject", "payload", "headers")
       SELECT "event_id", "subject", "payload", "headers"
         FROM unnest($${ids}::uuid[], $${subjects}::text[], $${payloads}::text[], $${headers}::jsonb[]) AS "rows"("event_id", "subject", "payload", "headers")
       ON CONFLICT ("event_id") DO NOTHING`;
}

export function outboxArrays(rows: readonly OutboxRow[]): [string[], string[], string[], string[]] {
  // A loop rather than a callback per column: see `invokeInSpan` (jetstream.server.ts) on V8's closures.
  const columns: [string[], string[], string[], string[]] = [[], [], [], []];
  for (const row of rows) {
    columns[0].push(row.eventId);
    columns[1].push(row.subject);
    columns[2].push(row.payload);
    columns[3].push(JSON.stringify(row.headers));
  }
  return columns;
}
