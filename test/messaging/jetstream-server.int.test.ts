import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { type CloudEvent, createEvent } from '@agf/contracts';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createTestDatabase, eventually, TestNats, type TestDatabase } from '@agf/testing';
import { type HandlerResult, JetStreamServer, MessageContext, messagingTablesMigration, OnMessage, OutboxRelay } from '@agf/messaging';

jest.setTimeout(60_000);

class ProbeTables1732500000009 implements MigrationInterface {
  name = 'ProbeTables1732500000009';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "probe"."effects" ("event_id" text NOT NULL, "project_id" text NOT NULL)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "probe"."effects"`);
  }
}

@Controller()
class ProbeHandlers {
  @OnMessage('deployment.outcome')
  async outcome(event: CloudEvent<'deployment.outcome'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(`INSERT INTO "probe"."effects" ("event_id", "project_id") VALUES ($1, $2)`, [event.id, event.data.projectId]);
    if (event.data.projectId === 'always-fails') throw new Error('handler always throws on this project');
  }
}

@Module({ controllers: [ProbeHandlers] })
class ProbeModule {}

const outcome = (projectId: string) =>
  createEvent({
    name: 'deployment.outcome',
    source: 'test',
    correlationId: randomUUID(),
    data: { requestId: randomUUID(), projectId, componentName: 'c', version: '1', status: 'succeeded', reportedAt: new Date().toISOString() },
  });

describe('JetStream transport: inbox, retries and dead letters (real NATS and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let dataSource: DataSource;
  let relay: OutboxRelay;
  let app: INestMicroservice;
  const results: Array<{ message: string; result: HandlerResult }> = [];

  const effects = async (projectId: string) => (await db.query(`SELECT event_id FROM probe.effects WHERE project_id = $1`, [projectId])).length;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    dataSource = new DataSource({ type: 'postgres', url: db.url, schema: 'probe', migrations: [messagingTablesMigration('probe'), ProbeTables1732500000009] });
    await dataSource.initialize();
    await dataSource.query('CREATE SCHEMA probe');
    await dataSource.runMigrations();
    relay = new OutboxRelay(dataSource, jetstream(nats.nc), { schema: 'probe', batchSize: 10, idleDelayMs: 200, retainSentMs: 60_000, logger: console });
    app = await NestFactory.createMicroservice(ProbeModule, {
      logger: false,
      strategy: new JetStreamServer({
        service: 'probe',
        schema: 'probe',
        nc: nats.nc,
        dataSource,
        namespace: nats.namespace,
        relay,
        streamOptions: { decisionRetentionDays: 1, retentionDays: 1, duplicateWindowMs: 60_000 },
        concurrency: 8,
        maxDeliver: 3,
        ackWaitMs: 5000,
        retryBaseMs: 200,
        observe: ({ message, result }) => results.push({ message, result }),
      }),
    });
    await app.listen();
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await nats?.cleanup();
    await db?.drop();
  });

  it('gives an event delivered twice one effect', async () => {
    const event = outcome('twice');
    // Different Nats-Msg-Ids get past JetStream's duplicate window: only the inbox stands in the way.
    await nats.publish('agf.v1.deployment.outcome.twice', JSON.stringify(event), 'first');
    await nats.publish('agf.v1.deployment.outcome.twice', JSON.stringify(event), 'second');
    await eventually(() => expect(results.filter((r) => r.result === 'duplicate')).toHaveLength(1));
    expect(await effects('twice')).toBe(1);
  });

  it('dead-letters an invalid event with its reason and still processes the next one', async () => {
    const invalid = { ...outcome('invalid'), data: { projectId: 'invalid', status: 'exploded' } };
    await nats.publish('agf.v1.deployment.outcome.invalid', JSON.stringify(invalid));
    await nats.publish('agf.v1.deployment.outcome.after-invalid', JSON.stringify(outcome('after-invalid')));
    await eventually(async () => expect(await effects('after-invalid')).toBe(1));
    const dead = await eventually(async () => {
      const found = await nats.read('AGF_DLQ');
      expect(found.filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.invalid'))).toHaveLength(1);
      return found.find((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.invalid'))!;
    });
    expect(dead.subject).toBe('agf.dlq.probe.AGF_DEPLOYMENT');
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/invalid deployment.outcome: .*status/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('1');
    expect(dead.json<{ id: string }>().id).toBe(invalid.id);
    expect(await effects('invalid')).toBe(0);
  });

  it('retries a handler that always throws, dead-letters it after max deliveries, without delaying the messages behind it', async () => {
    await nats.publish('agf.v1.deployment.outcome.always-fails', JSON.stringify(outcome('always-fails')));
    const started = Date.now();
    for (let i = 0; i < 5; i += 1) await nats.publish('agf.v1.deployment.outcome.behind', JSON.stringify(outcome('behind')));
    await eventually(async () => expect(await effects('behind')).toBe(5), 5000, 20);
    expect(Date.now() - started).toBeLessThan(2000);
    const dead = await eventually(async () => {
      const found = (await nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.always-fails'));
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/handler always throws/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('3');
    // Each failed attempt rolled back, so the poison message left no effect behind.
    expect(await effects('always-fails')).toBe(0);
    expect(results.filter((r) => r.result === 'retried')).toHaveLength(2);
  });
});
