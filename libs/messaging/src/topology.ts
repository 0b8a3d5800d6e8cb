import { STREAM_NAMES, STREAMS, type StreamName } from '@agf/contracts';
import {
  AckPolicy,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { type DurableConsumerPlan, isDurableOfService } from './durable-consumers';
import { Namespace } from './namespace';

export interface StreamOptions {
  /** How long decisions stay replayable (ARCHITECTURE: default 30 days). */
  decisionRetentionDays: number;
  /** How long other domain streams keep messages. */
  retentionDays: number;
  /** JetStream drops a re-publish with the same `Nats-Msg-Id` within this window. */
  duplicateWindowMs: number;
  /** Copies of each stream: 1 on a single server, 3 (or 5) on a cluster, so a stream survives the loss of a node. */
  replicas?: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  decisionRetentionDays: 30,
  retentionDays: 7,
  duplicateWindowMs: 2 * 60_000,
};

const DAY_MS = 24 * 3600_000;

/**
 * How long a stream keeps its messages (0: for ever); dead letters at least 30 days, so that they can still be
 * replayed. API keys are kept for ever: every process replays them all to know which keys are valid.
 */
/** Streams every process replays from the start to know current state: API keys and the expert registry. */
export const KEPT_FOR_EVER: ReadonlySet<StreamName> = new Set<StreamName>(['AGF_ACCESS', 'AGF_REGISTRY']);

export function streamRetentionDays(name: StreamName, options: StreamOptions): number {
  if (KEPT_FOR_EVER.has(name)) return 0;
  return name === 'AGF_DECISION' ? options.decisionRetentionDays : name === 'AGF_DLQ' ? Math.max(30, options.retentionDays) : options.retentionDays;
}

/**
 * How long a consumer must remember what it processed (its inbox): as long as a message can come again, from
 * a stream that still holds it (a consumer created afresh reads from the start) or as a replayed dead letter
 * (replayed to every consumer of its stream), plus a day for replays in flight.
 */
export function inboxRetentionMs(options: StreamOptions): number {
  // Streams kept for ever are left out: their durable consumers (compliance's audit) are idempotent by event id themselves.
  return (Math.max(...STREAM_NAMES.filter((name) => !KEPT_FOR_EVER.has(name)).map((name) => streamRetentionDays(name, options))) + 1) * DAY_MS;
}

export function streamConfig(ns: Namespace, name: StreamName, options: StreamOptions): Partial<StreamConfig> & { name: string } {
  const days = streamRetentionDays(name, options);
  return {
    name: ns.stream(name),
    subjects: ns.streamSubjects(name),
    description: STREAMS[name].description,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(days * DAY_MS),
    duplicate_window: nanos(options.duplicateWindowMs),
    num_replicas: options.replicas ?? 1,
  };
}

/** Creates every stream, or updates it to the declared configuration; safe to run from many processes at once. */
export async function ensureStreams(jsm: JetStreamManager, ns: Namespace, options: StreamOptions = DEFAULT_STREAM_OPTIONS): Promise<void> {
  for (const name of STREAM_NAMES) {
    const config = streamConfig(ns, name, options);
    try {
      await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await jsm.streams.add(config);
      } catch (addError) {
        // Another replica created it between our info and add: that is the outcome we wanted.
        if (!(addError instanceof JetStreamApiError && /already in use/i.test(addError.message))) throw addError;
      }
    }
  }
}

export interface DurableConsumerSpec {
  stream: StreamName;
  durable: string;
  /** Contract subject filter (namespace is added here), or undefined for the whole stream. */
  filterSubject?: string;
  maxDeliver: number;
  ackWaitMs: number;
  maxAckPending: number;
  /** Where a consumer created now starts (it replaces one that stopped there); the whole stream otherwise. */
  startSequence?: number;
}

/** Creates the durable pull consumer, or updates the settings that may change. */
export async function ensureConsumer(jsm: JetStreamManager, ns: Namespace, spec: DurableConsumerSpec): Promise<void> {
  const stream = ns.stream(spec.stream);
  const config = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    ...(spec.startSequence ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: spec.startSequence } : { deliver_policy: DeliverPolicy.All }),
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending,
    ...(spec.filterSubject ? { filter_subject: ns.subject(spec.filterSubject) } : {}),
  };
  try {
    await jsm.consumers.info(stream, spec.durable);
    await jsm.consumers.update(stream, spec.durable, {
      max_deliver: config.max_deliver,
      ack_wait: config.ack_wait,
      max_ack_pending: config.max_ack_pending,
      ...(config.filter_subject ? { filter_subject: config.filter_subject } : {}),
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(stream, config);
  }
}

export type ConsumerSettings = Pick<DurableConsumerSpec, 'maxDeliver' | 'ackWaitMs' | 'maxAckPending'>;

/**
 * Creates or updates a service's durable consumers (`durableConsumersOf`), and retires those an earlier plan
 * gave it on the same streams (a whole-stream consumer now split by message type, or the reverse). A consumer
 * that replaces others starts where the slowest of them stopped acknowledging: an upgrade neither skips
 * messages nor reads the stream again from its start; what is delivered twice meets the inbox.
 */
export async function ensureServiceConsumers(jsm: JetStreamManager, ns: Namespace, service: string, plans: readonly DurableConsumerPlan[], settings: ConsumerSettings): Promise<void> {
  for (const stream of new Set(plans.map((plan) => plan.stream))) {
    const planned = plans.filter((plan) => plan.stream === stream);
    const retired: ConsumerInfo[] = [];
    for await (const info of jsm.consumers.list(ns.stream(stream))) {
      const name = info.config.durable_name ?? info.name;
      if (isDurableOfService(service, stream, name) && !planned.some((plan) => plan.durable === name)) retired.push(info);
    }
    const startSequence = retired.length ? Math.min(...retired.map((info) => info.ack_floor.stream_seq)) + 1 : undefined;
    for (const plan of planned) await ensureConsumer(jsm, ns, { stream, durable: plan.durable, filterSubject: plan.filterSubject, ...settings, startSequence });
    for (const info of retired) await jsm.consumers.delete(ns.stream(stream), info.name).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
}

/**
 * Deletes the durable consumers of a stream that `unread` says nobody reads any more (a service's after an
 * upgrade), unless messages are still waiting in one (published before the service changed, and read by nobody
 * else): that one is kept, and returned with their count, for an operator to look at.
 */
export async function retireUnreadConsumers(jsm: JetStreamManager, ns: Namespace, stream: StreamName, unread: (durable: string) => boolean): Promise<Array<{ durable: string; waiting: number }>> {
  const kept: Array<{ durable: string; waiting: number }> = [];
  try {
    for await (const info of jsm.consumers.list(ns.stream(stream))) {
      const durable = info.config.durable_name ?? info.name;
      if (!unread(durable)) continue;
      const waiting = info.num_pending + info.num_ack_pending;
      if (waiting) kept.push({ durable, waiting });
      else await jsm.consumers.delete(ns.stream(stream), durable).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return kept;
}

/** What to tell an operator about a consumer `retireUnreadConsumers` kept. */
export function unreadConsumerKept(stream: string, durable: string, waiting: number): string {
  return `${stream}/${durable}: no longer read, but ${waiting} message(s) wait in it; kept (remove it with \`nats consumer rm ${stream} ${durable}\` once they are not needed)`;
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.status === 404 || /not found/i.test(error.message));
}
