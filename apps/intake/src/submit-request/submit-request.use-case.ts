import { createHash } from 'node:crypto';
import { canonicalize } from './canonical';
import { type Actor, type DeploymentRequest, LIMITS, newId } from '@agf/contracts';
import type { OutgoingEvent } from '@agf/messaging';
import { ProblemError } from '@agf/platform';
import type { EntityManager } from 'typeorm';
import type { AuthorizedSubmission } from './authorize-submission';

export interface WriteContext {
  manager: EntityManager;
  emit(event: OutgoingEvent<'deployment.requested'>): unknown;
}

/** Commits one statement together with the events it stands for (`TransactionalPublisher.writeWithEvents`). */
export interface OneStatementWriter {
  writeWithEvents(statement: string, params: unknown[], events: OutgoingEvent[]): Promise<unknown>;
}

export interface SubmitResult {
  id: string;
  status: string;
  /** True when an idempotency key matched an earlier submission: nothing new was stored or published. */
  replayed: boolean;
}

/**
 * Stores a valid, authorized request and emits `deployment.requested` in the same transaction. With an
 * idempotency key, the key row is claimed first: a racing retry blocks on it, then finds the first request and
 * returns it. The fingerprint includes the requester, so another principal's submission under the same key is
 * refused rather than answered with the first one's id.
 */
export async function submitRequest(
  tx: WriteContext,
  input: AuthorizedSubmission,
  actor: Actor,
  idempotencyKey: string | undefined,
  now = new Date(),
): Promise<SubmitResult> {
  const { request, insert } = newRequest(newId(), input, actor, now);
  if (idempotencyKey) {
    const fingerprint = createHash('sha256').update(canonicalize(input)).digest('hex');
    const claimed: unknown[] = await tx.manager.query(
      `INSERT INTO "intake"."idempotency_keys" ("key", "request_id", "fingerprint") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
      [idempotencyKey, request.requestId, fingerprint],
    );
    if (!claimed.length) {
      const [first]: { request_id: string; fingerprint: string; status: string }[] = await tx.manager.query(
        `SELECT k."request_id", k."fingerprint", r."status" FROM "intake"."idempotency_keys" k
           JOIN "intake"."requests" r ON r."id" = k."request_id" WHERE k."key" = $1`,
        [idempotencyKey],
      );
      if (first.fingerprint !== fingerprint) {
        throw new ProblemError(422, 'idempotency-key-reused', 'Unprocessable Content', 'this idempotency key was used for a different request');
      }
      return { id: first.request_id, status: first.status, replayed: true };
    }
  }
  await tx.manager.query(insert.statement, insert.params);
  tx.emit(requested(request));
  return { id: request.requestId, status: 'received', replayed: false };
}

/**
 * A submission without an idempotency key: nothing to look up first, so the request row and its
 * `deployment.requested` commit in one statement, without a transaction block.
 */
export async function submitRequestAtOnce(writer: OneStatementWriter, input: AuthorizedSubmission, actor: Actor, now = new Date()): Promise<SubmitResult> {
  const { request, insert } = newRequest(newId(), input, actor, now);
  await writer.writeWithEvents(insert.statement, insert.params, [requested(request)]);
  return { id: request.requestId, status: 'received', replayed: false };
}

/** The request as stored and published; one too large for the events that carry it is refused before anything is written. */
function newRequest(id: string, input: AuthorizedSubmission, actor: Actor, now: Date): { request: DeploymentRequest; insert: { statement: string; params: unknown[] } } {
  const request: DeploymentRequest = {
    ...input,
    actor,
    requestId: id,
    timestamp: input.timestamp ?? now.toISOString(),
    metadata: input.metadata ?? {},
    receivedAt: now.toISOString(),
    receivedVia: actor.channel,
  };
  const json = JSON.stringify(request);
  const bytes = Buffer.byteLength(json);
  if (bytes > LIMITS.maxRequestBytes) {
    const message = `the request is ${bytes} bytes as stored; at most ${LIMITS.maxRequestBytes} are accepted, so that the events carrying it fit in one NATS message`;
    throw new ProblemError(413, 'request-too-large', 'Content Too Large', message, [{ path: '(body)', message }]);
  }
  return {
    request,
    insert: {
      statement: `INSERT INTO "intake"."requests" ("id", "project_id", "component_name", "version", "requester", "request", "created_at", "updated_at")
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
      params: [id, input.projectId, input.componentName, input.version, input.requester, json, now],
    },
  };
}

function requested(request: DeploymentRequest): OutgoingEvent<'deployment.requested'> {
  return { name: 'deployment.requested', data: request, correlationId: request.requestId };
}
