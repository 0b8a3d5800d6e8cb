import { CATALOG, type MessageName, type StreamName, subjectFilterFor } from '@agf/contracts';

/** One durable consumer of a service: one per stream it reads, named after the service. */
export interface DurableConsumerPlan {
  stream: StreamName;
  durable: string;
  /** The contract subject filter, or undefined for the whole stream. */
  filterSubject?: string;
  messages: MessageName[];
}

/**
 * The durable consumers a service reading `messages` has. NATS 2.9 has one filter subject per consumer, so a
 * consumer is narrowed to its one message type where the service reads only one of its stream; otherwise it
 * reads the whole stream. The service itself and the provisioning step (`agf provision`) both plan with this.
 */
export function durableConsumersOf(service: string, messages: readonly MessageName[]): DurableConsumerPlan[] {
  const byStream = new Map<StreamName, MessageName[]>();
  for (const name of messages) {
    const entry = CATALOG[name];
    if (!entry) throw new Error(`${service} reads ${name}: not a message of the contracts catalog`);
    byStream.set(entry.stream, [...(byStream.get(entry.stream) ?? []), name]);
  }
  return [...byStream].map(([stream, names]) => ({ stream, durable: service, messages: names, ...(names.length === 1 ? { filterSubject: subjectFilterFor(names[0]!) } : {}) }));
}
