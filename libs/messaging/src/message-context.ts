import type { CloudEventEnvelope, EventName } from '@agf/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { EntityManager } from 'typeorm';
import type { OutgoingEvent } from './outbox';

/**
 * Appends that handlers leave to the end of their transaction, so that the messages of a batch write them in
 * one statement per kind instead of one each.
 */
export class DeferredAppends {
  private readonly byKey = new Map<string, { items: unknown[]; write: (manager: EntityManager, items: never[]) => Promise<void> }>();

  add<T>(key: string, item: T, write: (manager: EntityManager, items: T[]) => Promise<void>): void {
    const entry = this.byKey.get(key);
    if (entry) entry.items.push(item);
    else this.byKey.set(key, { items: [item], write: write as (manager: EntityManager, items: never[]) => Promise<void> });
  }

  async writeAll(manager: EntityManager): Promise<void> {
    for (const { items, write } of this.byKey.values()) await write(manager, items as never[]);
    this.byKey.clear();
  }
}

type EmitArgs<N extends EventName> = Omit<OutgoingEvent<N>, 'correlationId' | 'causationId'> & { correlationId?: string };

/**
 * What a handler gets besides the message: the transaction its effects belong to, and `emit` to add
 * events that commit with those effects (outbox). The inbox claim is already in the same transaction.
 */
export class MessageContext {
  readonly emitted: OutgoingEvent[] = [];
  /** The handler's own error, kept before Nest's exception layer generalises it. */
  failure: unknown;

  constructor(
    readonly manager: EntityManager,
    private readonly msg: JsMsg,
    /** Contract subject (namespace removed). */
    readonly subject: string,
    /** The envelope of an event; undefined for a plain command such as `intake.submit`. */
    readonly envelope: CloudEventEnvelope | undefined,
    /** Written by the transport at the end of the transaction (a default here would silently drop them). */
    private readonly appends: DeferredAppends,
  ) {}

  /**
   * Leaves an append to the end of the transaction: `write` then gets the items of every message of the batch
   * with the same `key` at once. Only for rows that no handler reads back in the same transaction.
   */
  appendLater<T>(key: string, item: T, write: (manager: EntityManager, items: T[]) => Promise<void>): void {
    this.appends.add(key, item, write);
  }

  emit<N extends EventName>(event: EmitArgs<N>): void {
    const correlationId = event.correlationId ?? this.envelope?.correlationid;
    if (!correlationId) throw new Error(`emit(${event.name}): no correlation id`);
    this.emitted.push({ ...event, correlationId, causationId: this.envelope?.id } as OutgoingEvent);
  }

  /** Tells JetStream a long handler is still alive, so the message is not redelivered meanwhile. */
  working(): void {
    this.msg.working();
  }

  get deliveryCount(): number {
    return this.msg.info.deliveryCount;
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
