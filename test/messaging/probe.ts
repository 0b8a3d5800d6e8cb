import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { type CloudEvent, createEvent } from '@agf/contracts';
import { aDecision, aDeploymentRequest } from '@agf/contracts/testing';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { jetstream } from '@nats-io/jetstream';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { startTracing, type Tracing } from '@agf/platform';
import { createTestDatabase, TestNats, type TestDatabase } from '@agf/testing';
import { type HandlerResult, type InvalidMessage, JetStreamServer, MessageContext, messagingMigrations, OnInvalidMessage, OnMessage, OutboxRelay, PoisonMessage } from '@agf/messaging';

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
    // As coe with an evaluation of a request it knows waits for none: nothing to store, nothing to emit.
    if (event.data.projectId === 'changes-nothing') return;
    if (event.data.projectId === 'fails-when-repeated') {
      // A handler whose state has moved on since the first delivery: a second run throws.
      const seen: unknown[] = await ctx.manager.query(`SELECT 1 FROM "probe"."effects" WHERE "event_id" = $1`, [event.id]);
      if (seen.length) throw new Error('this event was handled before');
    }
    await ctx.manager.query(`INSERT INTO "probe"."effects" ("event_id", "project_id") VALUES ($1, $2)`, [event.id, event.data.projectId]);
    if (event.data.projectId === 'always-fails') throw new Error('handler always throws on this project');
  }

  /**
   * A second stream (AGF_DECISION); a decision of project `emits` is answered with a deployment.requested,
   * one of `emits-later` with one emitted at the end of its transaction, one of `emits-too-large` with one too
   * large to publish.
   */
  @OnMessage('decision.made')
  async decision(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    await ctx.manager.query(`INSERT INTO "probe"."effects" ("event_id", "project_id") VALUES ($1, $2)`, [event.id, event.data.projectId]);
    if (event.data.projectId === 'emits') {
      const request = aDeploymentRequest({ requestId: event.data.requestId, projectId: 'emitted' });
      ctx.emit({ name: 'deployment.requested', correlationId: request.requestId, data: request });
    }
    if (event.data.projectId === 'emits-later') {
      // Emitted by a write left to the end of the transaction, as compliance's evaluations are.
      // Each item carries the emitter of its own message: the batch's first message's write emits for all.
      ctx.writeLater('emit-later', { requestId: event.data.requestId, emit: ctx.emitterForLater() }, async (_manager, items) => {
        for (const { requestId, emit } of items) emit({ name: 'deployment.requested', correlationId: requestId, data: aDeploymentRequest({ requestId, projectId: 'emitted-later' }) });
      });
    }
    if (event.data.projectId === 'emits-too-large') {
      const request = aDeploymentRequest({ requestId: event.data.requestId, projectId: 'emitted', metadata: { pad: 'x'.repeat(1_100_000) } });
      ctx.emit({ name: 'deployment.requested', correlationId: request.requestId, data: request });
    }
  }

  /**
   * Decisions that fail their schema: one of project `answered-invalid` is answered (an effect row holding the
   * reason), one of `dropped-invalid` is dropped, any other is dead-lettered.
   */
  @OnInvalidMessage('decision.made')
  async invalidDecision(message: InvalidMessage, ctx: MessageContext): Promise<void> {
    const projectId = (message.body as { data?: { projectId?: unknown } } | undefined)?.data?.projectId;
    if (projectId === 'dropped-invalid') return;
    if (projectId !== 'answered-invalid') throw new PoisonMessage(message.reason);
    await ctx.manager.query(`INSERT INTO "probe"."effects" ("event_id", "project_id") VALUES ($1, $2)`, [message.reason, projectId]);
  }
}

let tracing: Tracing | undefined;

@Module({ controllers: [ProbeHandlers] })
class ProbeModule {}

export const outcome = (projectId: string) =>
  createEvent({
    name: 'deployment.outcome',
    source: 'test',
    correlationId: randomUUID(),
    data: { requestId: randomUUID(), projectId, componentName: 'c', version: '1', status: 'succeeded', reportedAt: new Date().toISOString() },
  });

export const decision = (projectId: string) => {
  const requestId = randomUUID();
  return createEvent({ name: 'decision.made', source: 'test', correlationId: requestId, data: aDecision({ requestId, projectId }) });
};

/**
 * A probe service on the real transport: handlers on two streams that record an effect per event (and always
 * fail for `always-fails`, and on a second run for `fails-when-repeated`).
 */
export class Probe {
  private constructor(
    readonly results: Array<{ message: string; result: HandlerResult }>,
    readonly db: TestDatabase,
    readonly nats: TestNats,
    readonly dataSource: DataSource,
    private readonly app: INestMicroservice,
    private readonly relay: OutboxRelay,
  ) {}

  static async start(options: { concurrency: number; batchSize?: number; batchLingerMs?: number; relayPollMs?: number; beforeListen?: (nats: TestNats) => Promise<void> }): Promise<Probe> {
    // As in a service: trace context propagates (spans unrecorded), so emitted events carry `traceparent`.
    tracing ??= startTracing('probe');
    const db = await createTestDatabase();
    const nats = await TestNats.connect();
    await options.beforeListen?.(nats);
    const dataSource = new DataSource({ type: 'postgres', url: db.url, schema: 'probe', migrations: [...messagingMigrations('probe'), ProbeTables1732500000009] });
    await dataSource.initialize();
    await dataSource.query('CREATE SCHEMA probe');
    await dataSource.runMigrations();
    const relay = new OutboxRelay(dataSource, jetstream(nats.nc), {
      schema: 'probe',
      batchSize: 10,
      idleDelayMs: options.relayPollMs ?? 200,
      graceMs: 1000,
      logger: console,
    });
    relay.start();
    const results: Probe['results'] = [];
    const app = await NestFactory.createMicroservice(ProbeModule, {
      logger: false,
      strategy: new JetStreamServer({
        service: 'probe',
        schema: 'probe',
        nc: nats.nc,
        dataSource,
        namespace: nats.namespace,
        relay,
        streamOptions: { decisionRetentionDays: 1, retentionDays: 1, duplicateWindowMs: 60_000 },
        concurrency: options.concurrency,
        batchSize: options.batchSize,
        batchLingerMs: options.batchLingerMs,
        maxDeliver: 3,
        ackWaitMs: 5000,
        retryBaseMs: 200,
        observe: ({ message, result }) => results.push({ message, result }),
      }),
    });
    await app.listen();
    return new Probe(results, db, nats, dataSource, app, relay);
  }

  async inboxEntries(eventId: string): Promise<number> {
    return (await this.db.query(`SELECT 1 FROM probe.inbox WHERE event_id = $1`, [eventId])).length;
  }

  async effects(projectId: string): Promise<number> {
    return (await this.db.query(`SELECT event_id FROM probe.effects WHERE project_id = $1`, [projectId])).length;
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.relay.stop();
    await this.dataSource.destroy();
    await this.nats.cleanup();
    await this.db.drop();
  }
}
