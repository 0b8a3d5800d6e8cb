import { dlqSubject, type MessageName, STREAM_NAMES, type StreamName, subjectFilterFor } from '@agf/contracts';
import { durableConsumersOf, type Namespace } from '@agf/messaging';
import type { ServiceName } from '../infra-config';

/** What a service does on the bus: the source of its NATS permissions (`agf nats-config`) and of its consumers (`agf provision`). */
export interface BusRole {
  /** Messages it publishes (through its outbox, or straight to JetStream). */
  publishes: MessageName[];
  /** Messages it consumes through its durable consumers. */
  consumes: MessageName[];
  /** Messages it receives on a plain subscription (intake's long-poll waiters). */
  listens?: MessageName[];
  /** Reads every stream's and consumer's state (the console's technical dashboard: lag, dead letters). */
  monitors?: boolean;
}

/**
 * Every service's part, kept in step with the code by `libs/platform/src/bus/bus-roles.spec.ts` (each
 * `@OnMessage` is a consumed message) and by the whole system running under these permissions
 * (`test/security/bus-permissions.int.test.ts`). Every service may also publish `security.refused` and its own
 * dead letters, and read the streams every process replays (API keys, the expert registry).
 */
/**
 * What `runService` adds to every service it runs: the privacy handlers of `libs/platform` (erase a person in
 * the service's own schema, apply retention) and their answers. The console is not run by it.
 */
export const PLATFORM_BUS_ROLE: BusRole = {
  publishes: ['privacy.erasure.applied', 'privacy.retention.applied'],
  consumes: ['privacy.erasure.requested', 'privacy.retention.requested'],
};

const OWN_BUS_ROLES: Record<ServiceName, BusRole> = {
  intake: {
    publishes: ['intake.rejected', 'deployment.requested', 'deployment.outcome', 'deployment.break_glass', 'review.submit', 'access.key.issued', 'access.key.revoked'],
    consumes: [
      'intake.submit',
      'risk.assessed',
      'review.classified',
      'review.assigned',
      'review.completed',
      'review.rejected',
      'review.cancelled',
      'sla.warning',
      'sla.breached',
      'compliance.evaluated',
      'decision.escalated',
      'decision.made',
      'deployment.break_glass',
    ],
    listens: ['decision.made'],
  },
  risk: { publishes: ['risk.assessed'], consumes: ['deployment.requested', 'learning.model.updated', 'learning.risk-model.published'] },
  coe: {
    publishes: [
      'review.classified',
      'review.assigned',
      'review.requested',
      'review.rejected',
      'review.completed',
      'review.cancelled',
      'decision.made',
      'decision.escalated',
      'registry.expert.changed',
      'registry.project.mode_changed',
    ],
    consumes: ['risk.assessed', 'review.submit', 'sla.breached', 'compliance.evaluated', 'deployment.break_glass'],
  },
  sla: { publishes: ['sla.warning', 'sla.breached'], consumes: ['review.assigned', 'review.completed', 'review.cancelled'] },
  learning: { publishes: ['learning.model.updated', 'learning.pattern.captured', 'learning.risk-model.published'], consumes: ['risk.assessed', 'decision.made', 'deployment.outcome'] },
  compliance: {
    publishes: ['compliance.evaluated', 'security.audit.read', 'privacy.erasure.requested', 'privacy.erasure.recorded', 'privacy.retention.requested'],
    consumes: [
      'intake.rejected',
      'deployment.requested',
      'deployment.outcome',
      'deployment.break_glass',
      'risk.assessed',
      'review.classified',
      'review.assigned',
      'review.requested',
      'review.submit',
      'review.rejected',
      'review.completed',
      'review.cancelled',
      'sla.warning',
      'sla.breached',
      'decision.made',
      'decision.escalated',
      'learning.model.updated',
      'learning.pattern.captured',
      'access.key.issued',
      'access.key.revoked',
      'registry.expert.changed',
      'registry.project.mode_changed',
      'security.refused',
      'security.audit.read',
      'rollout.progressed',
      'rollout.evaluated',
      'rollback.requested',
      'rollback.escalated',
      'rollback.completed',
      'privacy.erasure.applied',
      'privacy.retention.applied',
    ],
  },
  notify: {
    publishes: [],
    consumes: ['review.assigned', 'review.cancelled', 'sla.warning', 'sla.breached', 'decision.made', 'decision.escalated', 'deployment.break_glass', 'rollback.requested', 'rollback.escalated', 'rollback.completed'],
  },
  integrations: { publishes: ['intake.submit'], consumes: ['deployment.requested', 'decision.made', 'registry.project.mode_changed'] },
  console: { publishes: [], consumes: [], monitors: true },
  rollout: {
    publishes: ['rollout.progressed', 'rollout.evaluated', 'rollback.requested', 'rollback.escalated', 'rollback.completed', 'deployment.outcome'],
    consumes: ['risk.assessed', 'decision.made'],
  },
};

export const BUS_ROLES = Object.fromEntries(
  Object.entries(OWN_BUS_ROLES).map(([service, role]) => [
    service,
    service === 'console' ? role : { ...role, publishes: [...role.publishes, ...PLATFORM_BUS_ROLE.publishes], consumes: [...role.consumes, ...PLATFORM_BUS_ROLE.consumes] },
  ]),
) as Record<ServiceName, BusRole>;

/** Streams every process replays from the start with an ordered (ephemeral, read-only) consumer. */
export const REPLAYED_STREAMS: StreamName[] = ['AGF_ACCESS', 'AGF_REGISTRY'];

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
  /** Exceptions to `publish` (a deny wins over an allow). */
  publishDeny?: string[];
}

/** A client's reply inbox prefix: each user has its own, so no client can read another's replies. */
export function inboxPrefixOf(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/** A reply subject of JetStream's API or of a pull request comes back to the client's own inbox. */
function clientBasics(user: string, ns: Namespace): NatsPermissions {
  return { publish: ['$JS.API.INFO', ...STREAM_NAMES.map((s) => `$JS.API.STREAM.INFO.${ns.stream(s)}`)], subscribe: [`${inboxPrefixOf(user)}.>`] };
}

/** Read-only replay of a stream with an ordered consumer: create (ephemeral), read, delete it, and nothing else. */
function replayPermissions(ns: Namespace, stream: StreamName): string[] {
  const name = ns.stream(stream);
  return [`$JS.API.CONSUMER.CREATE.${name}`, `$JS.API.CONSUMER.CREATE.${name}.>`, `$JS.API.CONSUMER.INFO.${name}.>`, `$JS.API.CONSUMER.DELETE.${name}.>`, `$JS.API.CONSUMER.MSG.NEXT.${name}.>`];
}

/**
 * A service's allow-lists: publish exactly its own messages, its dead letters and refusals; pull from and ack
 * on its own durable consumers only; replay the streams every process replays; no stream or consumer
 * management (the provisioning step's). Subjects carry the deployment's namespace.
 */
export function servicePermissions(service: ServiceName, ns: Namespace): NatsPermissions {
  const role = BUS_ROLES[service];
  const basics = clientBasics(service, ns);
  const consumers = durableConsumersOf(service, role.consumes);
  return {
    publish: [
      ...basics.publish,
      ...[...role.publishes, 'security.refused' as const].map((name) => ns.subject(subjectFilterFor(name))),
      ns.subject(dlqSubject(service, '>')),
      ...consumers.flatMap((c) => [`$JS.API.CONSUMER.INFO.${ns.stream(c.stream)}.${c.durable}`, `$JS.API.CONSUMER.MSG.NEXT.${ns.stream(c.stream)}.${c.durable}`, `$JS.ACK.${ns.stream(c.stream)}.${c.durable}.>`]),
      ...REPLAYED_STREAMS.flatMap((stream) => replayPermissions(ns, stream)),
      ...(role.monitors ? STREAM_NAMES.flatMap((stream) => [`$JS.API.CONSUMER.LIST.${ns.stream(stream)}`, `$JS.API.CONSUMER.INFO.${ns.stream(stream)}.*`]) : []),
    ],
    subscribe: [...basics.subscribe, ...(role.listens ?? []).map((name) => ns.subject(subjectFilterFor(name)))],
    // Replaying a stream lets a service create, read and delete consumers on it: never another service's durable.
    publishDeny: othersDurablesOnReplayedStreams(service, ns),
  };
}

function othersDurablesOnReplayedStreams(service: ServiceName, ns: Namespace): string[] {
  return (Object.keys(BUS_ROLES) as ServiceName[])
    .filter((other) => other !== service)
    .flatMap((other) => durableConsumersOf(other, BUS_ROLES[other].consumes))
    .filter((plan) => REPLAYED_STREAMS.includes(plan.stream))
    .flatMap((plan) => {
      const stream = ns.stream(plan.stream);
      return ['CREATE', 'DELETE', 'INFO', 'MSG.NEXT'].flatMap((api) => [`$JS.API.CONSUMER.${api}.${stream}.${plan.durable}`, `$JS.API.CONSUMER.${api}.${stream}.${plan.durable}.>`]);
    });
}

/** A pipeline: submit over NATS (intake checks its credential's projects) and read its answers; nothing else. */
export function pipelinePermissions(user: string, ns: Namespace): NatsPermissions {
  return { publish: [ns.subject(subjectFilterFor('intake.submit'))], subscribe: [`${inboxPrefixOf(user)}.>`] };
}

/**
 * An external automated expert: answer reviews (`review.submit`; CoE accepts an answer only from a principal
 * bound to the assigned expert) and read the review requests addressed to it, through its own durable consumer
 * `expert-<id>` that the provisioning step creates filtered to its subject.
 */
export function expertPermissions(expertId: string, ns: Namespace): NatsPermissions {
  const stream = ns.stream('AGF_REVIEW');
  const durable = expertConsumerName(expertId);
  return {
    publish: [
      ns.subject(subjectFilterFor('review.submit')),
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
    ],
    subscribe: [`${inboxPrefixOf(`expert-${expertId}`)}.>`],
  };
}

export function expertConsumerName(expertId: string): string {
  return `expert-${expertId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
