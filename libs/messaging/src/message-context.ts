import type { CloudEvent, CloudEventEnvelope, EventName } from '@agf/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import { context } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import type { OutboxRow, OutgoingEvent } from './outbox';

/**
 * Writes that handlers leave to the end of their transaction, so that the messages of a batch make them in
 * one statement per kind instead of one each (set-based handlers); and what they leave until after its commit.
 */
export class DeferredWrites {
  private readonly byKey = new Map<string, { items: unknown[]; write: (manager: EntityManager, items: never[]) => Promise<void>; last: boolean }>();
  /** Run by the transport once the transaction committed; dropped with a rollback. */
  readonly afterCommit: Array<() => void> = [];

  add<T>(key: string, item: T, write: (manager: EntityManager, items: T[]) => Promise<void>, last = false): void {
    const entry = this.byKey.get(key);
    if (entry) entry.items.push(item);
    else this.byKey.set(key, { items: [item], write: write as (manager: EntityManager, items: never[]) => Promise<void>, last });
  }

  /**
   * Each kind in the order it was first added, those marked `last` after the others; a write may leave more
   * writes (e.g. the audit record of an event it emits), which are written too.
   */
  async writeAll(manager: EntityManager): Promise<void> {
    for (;;) {
      const pending = [...this.byKey];
      const next = pending.find(([, entry]) => !entry.last) ?? pending[0];
      if (!next) return;
      this.byKey.delete(next[0]);
      await next[1].write(manager, next[1].items as never[]);
    }
  }
}

/**
 * One item per key, for a write left to the end of a batch's transaction (one statement cannot insert or
 * update the same row twice): the first item of each key, unless `replaces` prefers a later one to the one
 * held; in the order the keys were first seen.
 */
export function onePerKey<T>(items: readonly T[], key: (item: T) => string, replaces: (candidate: T, held: T) => boolean = () => false): T[] {
  const chosen = new Map<string, T>();
  for (const item of items) {
    const held = chosen.get(key(item));
    if (held === undefined || replaces(item, held)) chosen.set(key(item), item);
  }
  return [...chosen.values()];
}

/**
 * Transaction-scoped advisory locks on request ids, which serialise a service's handlers of one request across
 * its concurrent transactions and replicas. The first lock a transaction asks for takes the locks of every
 * request of its batch at once, in one statement and in id order (so two batches cannot deadlock on them);
 * a request already locked costs nothing.
 */
export class RequestLocks {
  private readonly held = new Set<string>();

  constructor(
    private readonly service: string,
    /** Correlation ids of the batch's messages: the requests its handlers will lock. */
    private readonly batchRequestIds: readonly string[] = [],
  ) {}

  async lock(manager: EntityManager, requestId: string): Promise<void> {
    if (this.held.has(requestId)) return;
    const ids = [requestId];
    for (const id of this.batchRequestIds) if (!this.held.has(id) && !ids.includes(id)) ids.push(id);
    await manager.query(
      `SELECT count(pg_advisory_xact_lock(hashtext($1), hashtext("id"))) FROM (SELECT unnest($2::text[]) AS "id" ORDER BY 1) AS "ids"`,
      [`agf-${this.service}`, ids],
    );
    for (const id of ids) this.held.add(id);
  }
}

/** Correlation and causation default to the message's; a message without a valid envelope names them itself. */
type EmitArgs<N extends EventName> = Omit<OutgoingEvent<N>, 'correlationId' | 'causationId'> & { correlationId?: string; causationId?: string };

/** What `emitterForLater` returns: `emit` on behalf of a message, for a write left to the end of its transaction. */
export type LaterEmitter = <N extends EventName>(event: EmitArgs<N>) => CloudEvent<N>;

/** Builds an emitted event's envelope and outbox row (in the handler's trace context, so it continues it). */
export type ToOutboxRow = <N extends EventName>(event: OutgoingEvent<N>) => { row: OutboxRow; envelope: CloudEvent<N> };

/**
 * What a handler gets besides the message: the transaction its effects belong to, and `emit` to add
 * events that commit with those effects (outbox). The inbox entry is claimed at the end of the same
 * transaction, so a duplicate runs its handler and is rolled back: handlers keep their effects inside it.
 * A handler that used neither (it found from memory that the message changes nothing) leaves no inbox entry
 * either: running it again cannot have a second effect, and its message costs no round trip.
 */
export class MessageContext {
  /** Rows of the events emitted, written by the transport with the inbox claim. */
  readonly outboxRows: OutboxRow[] = [];
  /** The handler's own error, kept before Nest's exception layer generalises it. */
  failure: unknown;
  private usedTransaction = false;

  constructor(
    private readonly transaction: EntityManager,
    private readonly msg: JsMsg,
    /** Contract subject (namespace removed). */
    readonly subject: string,
    /** The envelope of an event; undefined for a plain command such as `intake.submit`. */
    readonly envelope: CloudEventEnvelope | undefined,
    /** Written by the transport at the end of the transaction (a default here would silently drop them). */
    private readonly deferredWrites: DeferredWrites,
    private readonly locks: RequestLocks,
    private readonly toOutboxRow: ToOutboxRow,
  ) {}

  /** The transaction the handler's effects belong to. */
  get manager(): EntityManager {
    this.usedTransaction = true;
    return this.transaction;
  }

  /** The handler neither touched the transaction (nor left writes or callbacks for it) nor emitted an event. */
  get changedNothing(): boolean {
    return !this.usedTransaction && !this.outboxRows.length;
  }

  /**
   * Holds this request's lock (within this service) until the transaction ends, so that its handlers, in
   * concurrent batches or on other replicas, see each other's effects one after another.
   */
  lockRequest(requestId: string): Promise<void> {
    return this.locks.lock(this.manager, requestId);
  }

  /**
   * Leaves a write to the end of the transaction: `write` then gets the items of every message of the batch
   * with the same `key` at once, in batch order. Only for rows that no handler reads back in the same transaction.
   * `last`: after the other kinds, for a write that takes a lock everything else would then wait behind.
   */
  writeLater<T>(key: string, item: T, write: (manager: EntityManager, items: T[]) => Promise<void>, options: { last?: boolean } = {}): void {
    this.usedTransaction = true;
    this.deferredWrites.add(key, item, write, options.last ?? false);
  }

  /**
   * Runs `callback` once this transaction has committed (never if it rolls back): to remember what it stored,
   * or to count it in /metrics (a duplicate or a failed batch runs handlers whose effects roll back).
   */
  onCommitted(callback: () => void): void {
    this.usedTransaction = true;
    this.deferredWrites.afterCommit.push(callback);
  }

  /**
   * `emit` for a write left to the end of the transaction (`writeLater`): the event it adds is still this
   * message's effect, caused by it and in its trace, although the handler has returned by then.
   */
  emitterForLater(): LaterEmitter {
    const handlerContext = context.active();
    return (event) => context.with(handlerContext, () => this.emit(event));
  }

  /**
   * Adds an event that is published once the transaction commits, and returns it as it will be published.
   * Throws `EventTooLarge` here, so the handler's effects roll back with it.
   */
  emit<N extends EventName>(event: EmitArgs<N>): CloudEvent<N> {
    const correlationId = event.correlationId ?? this.envelope?.correlationid;
    if (!correlationId) throw new Error(`emit(${event.name}): no correlation id`);
    const { row, envelope } = this.toOutboxRow({ ...event, correlationId, causationId: event.causationId ?? this.envelope?.id } as OutgoingEvent<N>);
    this.outboxRows.push(row);
    return envelope;
  }

  /** Tells JetStream a long handler is still alive, so the message is not redelivered meanwhile. */
  working(): void {
    this.msg.working();
  }

  get deliveryCount(): number {
    return this.msg.info.deliveryCount;
  }

  /** A header the publisher set (e.g. `Authorization`, the credential of a command or an expert's answer). */
  header(name: string): string | undefined {
    return this.msg.headers?.get(name) || undefined;
  }

  /** `Nats-Msg-Id` the publisher set (commands use it as their idempotency key). */
  get natsMsgId(): string | undefined {
    return this.msg.headers?.get('Nats-Msg-Id') || undefined;
  }

  get streamSequence(): number {
    return this.msg.seq;
  }
}

/** The payload a command handler receives: the raw body, since rejecting bad input is the handler's job. */
export interface IncomingCommand {
  body: unknown;
  /** Set when the body was not JSON. */
  parseError?: string;
  size: number;
}

/**
 * What an `@OnInvalidMessage` handler receives: an event that failed its schema (or was not JSON), as it came,
 * and why. The handler answers its sender with a rejection event, or throws `PoisonMessage` to dead-letter it.
 */
export interface InvalidMessage {
  /** The parsed JSON; undefined when the body was not JSON. */
  body: unknown;
  /** What is wrong with it, as a dead letter would say (`invalid review.submit: data.comments: …`). */
  reason: string;
}
