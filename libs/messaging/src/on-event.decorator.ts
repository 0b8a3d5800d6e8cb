import type { CloudEvent, EventName, MessageName } from '@agf/contracts';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { IncomingCommand, InvalidMessage, MessageContext } from './message-context';

type PayloadFor<N extends MessageName> = N extends EventName ? CloudEvent<N> : IncomingCommand;
type Handler<P> = (payload: P, ctx: MessageContext) => Promise<void> | void;

/**
 * Marks a method as the handler of one catalog message. The JetStream transport validates the envelope
 * and data against the catalog schema, then calls it with `(event: CloudEvent<N>, ctx: MessageContext)`
 * inside the transaction that also records the inbox entry and the emitted events.
 */
export function OnMessage<N extends MessageName>(name: N) {
  return handlerOf<PayloadFor<N>>(name);
}

/**
 * Marks a method as the handler of the messages on event `name`'s subject that fail its schema: it gets
 * `(message: InvalidMessage, ctx: MessageContext)` in a transaction like `@OnMessage`'s, so that it can answer
 * the sender with a rejection event (once, however often the message comes), or return having done nothing
 * (the message is acked and dropped). Throwing `PoisonMessage` dead-letters it, as happens to invalid
 * messages of an event without such a handler.
 */
export function OnInvalidMessage(name: EventName) {
  return handlerOf<InvalidMessage>(invalidMessagePattern(name));
}

const INVALID = '#invalid';

/** The pattern an `@OnInvalidMessage` handler is registered under; not a catalog name, so it gets no consumer. */
export function invalidMessagePattern(name: EventName): string {
  return `${name}${INVALID}`;
}

/** The event whose invalid messages a pattern is for, if it is an `@OnInvalidMessage` pattern. */
export function eventOfInvalidMessagePattern(pattern: string): string | undefined {
  return pattern.endsWith(INVALID) ? pattern.slice(0, -INVALID.length) : undefined;
}

function handlerOf<P>(pattern: string) {
  const register = EventPattern(pattern) as unknown as MethodDecorator;
  return <T extends Handler<P>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>): void => {
    const handler = descriptor.value as unknown as Handler<P>;
    // Nest's exception layer replaces an error with "Internal server error"; keep the original on the
    // context so a dead letter carries the real reason.
    descriptor.value = async function (this: unknown, payload: P, ctx: MessageContext) {
      try {
        return await handler.call(this, payload, ctx);
      } catch (error) {
        ctx.failure = error;
        throw error;
      }
    } as unknown as T;
    register(target, key, descriptor);
    // Nest maps only the payload by default; bind the second argument to the transport's context too.
    Payload()(target, key, 0);
    Ctx()(target, key, 1);
  };
}
