import { randomUUID } from 'node:crypto';
import { subjectFor } from '@agf/contracts';
import { durableConsumersOf, ensureConsumer, ensureServiceConsumers, ensureStreams } from '@agf/messaging';
import { provisionBus } from '@agf/platform';
import { natsUrl, TestNats } from '@agf/testing';
import { AckPolicy } from '@nats-io/jetstream';

const SETTINGS = { maxDeliver: 3, ackWaitMs: 5000, maxAckPending: 10 };

describe('a service whose consumer plan changes (an upgrade)', () => {
  let nats: TestNats;

  beforeAll(async () => {
    nats = await TestNats.connect();
    await ensureStreams(nats.jsm, nats.namespace, { decisionRetentionDays: 1, retentionDays: 1, duplicateWindowMs: 60_000 });
  });

  afterAll(async () => {
    await nats.cleanup();
    await nats.nc.close();
  });

  it('replaces its whole-stream consumer by one per type, starting where the old one stopped acknowledging', async () => {
    const stream = nats.namespace.stream('AGF_REVIEW');
    const publish = (name: 'review.classified' | 'review.assigned' | 'review.completed') => nats.publish(subjectFor(name, 'demo'), JSON.stringify({ name }), randomUUID());
    // Before the upgrade: one consumer on the whole stream, which acknowledged the first three messages.
    await ensureConsumer(nats.jsm, nats.namespace, { stream: 'AGF_REVIEW', durable: 'sla', ...SETTINGS });
    for (const name of ['review.assigned', 'review.classified', 'review.completed'] as const) await publish(name);
    const old = await nats.js.consumers.get(stream, 'sla');
    for (let i = 0; i < 3; i++) (await old.next({ expires: 2000 }))!.ack();
    await nats.nc.flush();
    expect((await nats.jsm.consumers.info(stream, 'sla')).ack_floor.stream_seq).toBe(3);
    // Published while the service was being upgraded.
    for (const name of ['review.classified', 'review.assigned', 'review.completed', 'review.assigned'] as const) await publish(name);

    const plans = durableConsumersOf('sla', ['review.assigned', 'review.completed']);
    await ensureServiceConsumers(nats.jsm, nats.namespace, 'sla', plans, SETTINGS);

    const names: string[] = [];
    for await (const info of nats.jsm.consumers.list(stream)) names.push(info.name);
    expect(names.sort()).toEqual(['sla-review-assigned', 'sla-review-completed']);
    const assigned = await nats.jsm.consumers.info(stream, 'sla-review-assigned');
    expect(assigned.config.ack_policy).toBe(AckPolicy.Explicit);
    // Only what came after the old consumer's ack floor, and only the type each reads: nothing ignored, nothing replayed.
    expect(assigned.num_pending).toBe(2);
    expect((await nats.jsm.consumers.info(stream, 'sla-review-completed')).num_pending).toBe(1);

    // Running it again (another replica, the provisioning step) changes nothing.
    await ensureServiceConsumers(nats.jsm, nats.namespace, 'sla', plans, SETTINGS);
    expect((await nats.jsm.consumers.info(stream, 'sla-review-assigned')).num_pending).toBe(2);
  });

  it('retires the consumer of a stream the service no longer reads, but keeps it while messages wait in it', async () => {
    const stream = nats.namespace.stream('AGF_DECISION');
    const consumersOfSla = async () => {
      const names: string[] = [];
      for await (const info of nats.jsm.consumers.list(stream)) if (info.name.startsWith('sla')) names.push(info.name);
      return names;
    };
    // Before the upgrade sla read decision.made; one was published while it was being upgraded.
    await ensureServiceConsumers(nats.jsm, nats.namespace, 'sla', durableConsumersOf('sla', ['decision.made']), SETTINGS);
    await nats.publish(subjectFor('decision.made', 'demo'), JSON.stringify({ name: 'decision.made' }), randomUUID());
    const warnings: string[] = [];
    const provision = () => provisionBus({ url: natsUrl(), namespace: nats.namespace, env: {}, warn: (message) => warnings.push(message) });

    await provision();
    expect(await consumersOfSla()).toEqual(['sla']);
    expect(warnings).toEqual([expect.stringContaining(`${stream}/sla: no longer read, but 1 message(s) wait in it`)]);

    const waiting = await nats.js.consumers.get(stream, 'sla');
    (await waiting.next({ expires: 2000 }))!.ack();
    await nats.nc.flush();
    await provision();
    expect(await consumersOfSla()).toEqual([]);
    expect(warnings).toHaveLength(1);
    // The services that do read decisions keep their consumers.
    const readers: string[] = [];
    for await (const info of nats.jsm.consumers.list(stream)) readers.push(info.name);
    expect(readers.sort()).toEqual(['compliance', 'intake', 'integrations', 'learning', 'notify', 'rollout']);
  });
});
