import type { CloudEvent, EventName, MessageName } from '@agf/contracts';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { IncomingCommand, MessageContext } from './message-context';

type PayloadFor<N extends MessageName> = N extends EventName ? CloudEvent<N> : IncomingCommand;
type Handler<N extends MessageName> = (payload: PayloadFor<N>, ctx: MessageContext) => Promise<void> | void;

/**
 * Marks a method as the handler of one catalog message. The JetStream transport validates the envelope
 * and data against the catalog schema, then calls it with `(event: CloudEvent<N>, ctx: MessageContext)`
 * inside the transaction that also records the inbox entry and the emitted events.
 */
export function OnMessage<N extends MessageName>(name: N) {
  const register = EventPattern(name) as unknown as MethodDecorator;
  return <T extends Handler<N>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<T>): void => {
    const handler = descriptor.value as unknown as Handler<N>;
    // Nest's exception layer replaces an error with "Internal server error"; keep the original on the
    // context so a dead letter carries the real reason.
    descriptor.value = async function (this: unknown, payload: PayloadFor<N>, ctx: MessageContext) {
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
