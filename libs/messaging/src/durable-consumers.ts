import { CATALOG, type MessageName, type StreamName, subjectFilterFor } from '@agf/contracts';

/** One durable consumer of a service on a stream. */
export interface DurableConsumerPlan {
  stream: StreamName;
  durable: string;
  /** The contract subject filter, or undefined for the whole stream. */
  filterSubject?: string;
  messages: MessageName[];
}

/**
 * The durable consumers a service reading `messages` has. NATS 2.9 has one filter subject per consumer, and
 * a consumer that acks and ignores a delivery pays for it twice (nats-server's fan-out and the service's round
 * trip). So each consumer is filtered to exactly what the service handles: a service reading every message
 * type of a stream has one consumer on the whole stream, named after the service; one reading some of them has
 * a consumer per type, named after the service where it reads one type (`sla` on AGF_DECISION) and after the
 * service and the type where it reads several (`sla-review-assigned`). The service itself and the provisioning
 * step (`agf provision`) both plan with this.
 */
export function durableConsumersOf(service: string, messages: readonly MessageName[]): DurableConsumerPlan[] {
  const byStream = new Map<StreamName, MessageName[]>();
  for (const name of messages) {
    const entry = CATALOG[name];
    if (!entry) throw new Error(`${service} reads ${name}: not a message of the contracts catalog`);
    const names = byStream.get(entry.stream) ?? [];
    if (!names.includes(name)) names.push(name);
    byStream.set(entry.stream, names);
  }
  return [...byStream].flatMap(([stream, names]) => {
    if (names.length === messagesOfStream(stream).length) return [{ stream, durable: service, messages: names }];
    if (names.length === 1) return [{ stream, durable: service, messages: names, filterSubject: subjectFilterFor(names[0]!) }];
    return names.map((name) => ({ stream, durable: typedDurableName(service, name), messages: [name], filterSubject: subjectFilterFor(name) }));
  });
}

/** Whether `durable` is one of the names `durableConsumersOf` can give a consumer of `service` on `stream`. */
export function isDurableOfService(service: string, stream: StreamName, durable: string): boolean {
  return durable === service || messagesOfStream(stream).some((name) => durable === typedDurableName(service, name));
}

function typedDurableName(service: string, message: MessageName): string {
  return `${service}-${message.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function messagesOfStream(stream: StreamName): MessageName[] {
  return (Object.keys(CATALOG) as MessageName[]).filter((name) => CATALOG[name].stream === stream);
}
