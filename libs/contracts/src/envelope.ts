import { z } from 'zod';
import { CATALOG, eventType, type EventName, type PayloadOf } from './catalog';
import { newId } from './ids';
import { IsoDateTime, LIMITS } from './primitives';

/** CloudEvents 1.0 structured-mode envelope (ARCHITECTURE.md), plus correlation and causation ids. */
export const CloudEventEnvelope = z.object({
  specversion: z.literal('1.0'),
  id: z.uuid(),
  source: z.string().regex(/^agf\/[a-z0-9-]+$/),
  type: z.string().regex(/^io\.agf\.[a-z.]+\.v1$/),
  subject: z.string().min(1).max(LIMITS.envelopeId),
  time: IsoDateTime,
  datacontenttype: z.literal('application/json'),
  /** The deployment request id this event belongs to (extension attribute). */
  correlationid: z.string().min(1).max(LIMITS.envelopeId),
  /** The id of the event that caused this one; absent for the first event of a request. */
  causationid: z.string().min(1).max(LIMITS.envelopeId).optional(),
  /** W3C trace context, also sent as the `traceparent` NATS header. */
  traceparent: z.string().max(LIMITS.envelopeId).optional(),
  data: z.unknown(),
});
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelope>;

export type CloudEvent<N extends EventName> = Omit<CloudEventEnvelope, 'data'> & { data: PayloadOf<N> };

export interface NewEvent<N extends EventName> {
  name: N;
  source: string;
  data: PayloadOf<N>;
  /** Deployment request id; also the CloudEvents `subject`. */
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  id?: string;
  time?: Date;
}

export function createEvent<N extends EventName>(e: NewEvent<N>): CloudEvent<N> {
  return {
    specversion: '1.0',
    id: e.id ?? newId(),
    source: `agf/${e.source}`,
    type: eventType(e.name),
    subject: e.correlationId,
    time: (e.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    correlationid: e.correlationId,
    ...(e.causationId ? { causationid: e.causationId } : {}),
    ...(e.traceparent ? { traceparent: e.traceparent } : {}),
    data: e.data,
  };
}

function buildCloudEventSchema<N extends EventName>(name: N) {
  return CloudEventEnvelope.extend({ type: z.literal(eventType(name)), data: CATALOG[name].schema });
}

// Built once per event: zod compiles a schema on its first parse, and a schema built per message was
// recompiled for every message (a measurable share of every consumer's CPU).
const CLOUD_EVENT_SCHEMAS = new Map<EventName, ReturnType<typeof buildCloudEventSchema>>();

/** The envelope schema with the `data` schema of one event, for validation and JSON Schema. */
export function cloudEventSchema<N extends EventName>(name: N): ReturnType<typeof buildCloudEventSchema<N>> {
  let schema = CLOUD_EVENT_SCHEMAS.get(name);
  if (!schema) {
    schema = buildCloudEventSchema(name);
    CLOUD_EVENT_SCHEMAS.set(name, schema);
  }
  return schema as ReturnType<typeof buildCloudEventSchema<N>>;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: { path: string; message: string }[] };

/** Turns zod issues into `{path, message}` pairs that name each bad field. */
export function describeIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

export function parseEvent<N extends EventName>(name: N, body: unknown): ParseResult<CloudEvent<N>> {
  const result = cloudEventSchema(name).safeParse(body);
  return result.success
    ? { ok: true, value: result.data as CloudEvent<N> }
    : { ok: false, issues: describeIssues(result.error) };
}
