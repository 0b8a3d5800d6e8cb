import { STREAM_NAMES, subjectFor } from '@agf/contracts';
import { connectNats, DEFAULT_STREAM_OPTIONS, durableConsumersOf, ensureServiceConsumers, ensureStreams, isDurableOfService, type Namespace, retireUnreadConsumers, unreadConsumerKept } from '@agf/messaging';
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import { SERVICE_PORTS, type ServiceName } from '../infra-config';
import { BUS_ROLES, expertConsumerName, inboxPrefixOf } from './bus-roles';

/**
 * The provisioning step (`agf provision`, and `npm start` before the services): creates or updates every stream
 * and every service's durable consumers (and a consumer per external expert) as a user with JetStream admin
 * rights, so that the services themselves need none, and retires a service's consumers of streams it no longer
 * reads (after an upgrade; one with messages waiting is kept, and `warn` told). Safe to run again. Returns the
 * consumers it ensured.
 */
export async function provisionBus(options: {
  url: string;
  nkeySeed?: Uint8Array;
  tlsCaFile?: string;
  namespace: Namespace;
  experts?: string[];
  env?: NodeJS.ProcessEnv;
  warn?: (message: string) => void;
}): Promise<string[]> {
  const { namespace } = options;
  const env = options.env ?? process.env;
  const nc = await connectNats(options.url, 'agf-provision', { nkeySeed: options.nkeySeed, inboxPrefix: inboxPrefixOf('provisioner'), tlsCaFile: options.tlsCaFile });
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, namespace, {
      ...DEFAULT_STREAM_OPTIONS,
      replicas: Number(env['AGF_STREAM_REPLICAS'] ?? 1),
      decisionRetentionDays: Number(env['AGF_DECISION_RETENTION_DAYS'] ?? DEFAULT_STREAM_OPTIONS.decisionRetentionDays),
    });
    const created: string[] = [];
    const services = Object.keys(SERVICE_PORTS) as ServiceName[];
    const readers = new Map(STREAM_NAMES.map((stream) => [stream, new Set<ServiceName>()]));
    for (const service of services) {
      const plans = durableConsumersOf(service, BUS_ROLES[service].consumes);
      await ensureServiceConsumers(jsm, namespace, service, plans, {
        maxDeliver: Number(env['AGF_MAX_DELIVER'] ?? 5),
        ackWaitMs: Number(env['AGF_ACK_WAIT_MS'] ?? 30_000),
        maxAckPending: Number(env['AGF_CONSUMER_CONCURRENCY'] ?? 8) * 20,
      });
      created.push(...plans.map((plan) => `${namespace.stream(plan.stream)}/${plan.durable}`));
      for (const plan of plans) readers.get(plan.stream)!.add(service);
    }
    for (const stream of STREAM_NAMES) {
      const unread = (durable: string): boolean => services.some((service) => !readers.get(stream)!.has(service) && isDurableOfService(service, stream, durable));
      for (const { durable, waiting } of await retireUnreadConsumers(jsm, namespace, stream, unread)) options.warn?.(unreadConsumerKept(namespace.stream(stream), durable, waiting));
    }
    for (const expertId of options.experts ?? []) {
      const durable = expertConsumerName(expertId);
      const stream = namespace.stream('AGF_REVIEW');
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: namespace.subject(subjectFor('review.requested', expertId)),
      });
      created.push(`${stream}/${durable}`);
    }
    return created;
  } finally {
    await nc.close();
  }
}
