import { type CloudEventEnvelope, type ExpertRecord, ExpertRegistryChanged, messageNameOfSubject } from '@agf/contracts';
import type { Namespace } from '@agf/messaging';
import { DeliverPolicy, type ConsumerMessages, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * This process's replica of the expert registry: it replays `AGF_REGISTRY` (kept for ever) from the start with
 * an ordered consumer and then follows it, so an expert added, changed or removed through coe's `/v1/experts`
 * (or seeded from agf-config.yaml) reaches every service within moments, without a restart and without a table
 * shared between services. Removed experts are forgotten. Enabled per service with `runService({ expertRegistry:
 * true })`, then injected as `ExpertRegistryReplica`.
 */
export class ExpertRegistryReplica {
  private readonly experts = new Map<string, ExpertRecord>();
  /** Every expert id the registry announced, removed ones included. */
  private readonly announcedIds = new Set<string>();
  /** Expert ids by a subject bound to answer for them. */
  private readonly bound = new Map<string, Set<string>>();
  private messages?: ConsumerMessages;
  private caughtUp!: () => void;
  /** Settles once everything in the stream when the replica started has been applied. */
  readonly ready = new Promise<void>((resolve) => (this.caughtUp = resolve));

  async start(nc: NatsConnection, namespace: Namespace): Promise<void> {
    const stream = namespace.stream('AGF_REGISTRY');
    const jsm = await jetstreamManager(nc);
    const lastSequence = (await jsm.streams.info(stream)).state.last_seq;
    if (lastSequence === 0) this.caughtUp();
    const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    this.messages = await consumer.consume();
    void (async () => {
      for await (const msg of this.messages!) {
        if (messageNameOfSubject(namespace.strip(msg.subject) ?? '') === 'registry.expert.changed') {
          const parsed = ExpertRegistryChanged.safeParse(safeJson(() => msg.json<CloudEventEnvelope>().data));
          // Anything else is not a registry change AGF wrote (the stream's subjects are AGF's own): nothing to learn.
          if (parsed.success) this.apply(parsed.data);
        }
        if (msg.seq >= lastSequence) this.caughtUp();
      }
    })();
  }

  async stop(): Promise<void> {
    await this.messages?.close();
  }

  /** Applies one change (in stream order); exposed for the consumer above and for tests. */
  apply(change: ExpertRegistryChanged): void {
    this.announcedIds.add(change.expertId);
    this.unbind(change.expertId);
    if (change.change === 'removed' || !change.expert) {
      this.experts.delete(change.expertId);
      return;
    }
    const expert = { ...change.expert, id: change.expertId };
    this.experts.set(expert.id, expert);
    for (const subject of expert.principal) {
      const ids = this.bound.get(subject) ?? new Set<string>();
      ids.add(expert.id);
      this.bound.set(subject, ids);
    }
  }

  /** The expert as last announced, unless removed. */
  find(id: string): ExpertRecord | undefined {
    return this.experts.get(id);
  }

  /** Every expert of the registry, by id. */
  all(): ExpertRecord[] {
    return [...this.experts.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Whether the registry ever announced this expert, even if it was removed since: a service that falls back to
   * agf-config.yaml for experts the registry has not announced (yet) must not revive a removed one.
   */
  announced(id: string): boolean {
    return this.announcedIds.has(id);
  }

  /** The ids of the experts this subject is bound to answer for (`principal`); the caller checks the reviewer role. */
  boundTo(subject: string): string[] {
    return [...(this.bound.get(subject) ?? [])].sort();
  }

  private unbind(expertId: string): void {
    for (const subject of this.experts.get(expertId)?.principal ?? []) {
      const ids = this.bound.get(subject);
      ids?.delete(expertId);
      if (ids && !ids.size) this.bound.delete(subject);
    }
  }
}

function safeJson(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return undefined;
  }
}
