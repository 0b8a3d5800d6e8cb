import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type CloudEvent, createEvent } from '@agf/contracts';
import { ensureStreams, JetStreamServer, MessageContext, messagingMigrations, OnMessage, OutboxRelay } from '@agf/messaging';
import { createServiceDataSource, initialiseDatabase } from '@agf/platform';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { benchServers } from './cleanup';

/**
 * `npm run bench:transport`: what the JetStream transport itself costs per delivery. A stream is filled with
 * `deployment.outcome` events first; then one consumer (a service's transport with a handler that writes one
 * row per message, set-based as the bookkeeping services do) works it off, and the process's CPU time per
 * message is printed: decode, validation, trace context, Nest's handler call, the transaction with the inbox
 * claim, and the ack. With `--emit` the handler also emits an event per message, published after the commit,
 * as a hop of the decision path does. Postgres and NATS run elsewhere, so their CPU is not in the figure.
 */
const HELP = `usage: npm run bench:transport -- [--messages 20000] [--batch 16] [--concurrency 4] [--emit] [--profile file.cpuprofile]`;

class BenchTables1732500000010 implements MigrationInterface {
  name = 'BenchTables1732500000010';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "transport"."effects" ("event_id" uuid PRIMARY KEY, "project_id" text NOT NULL)`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "transport"."effects"`);
  }
}

let handled = 0;
let allHandled: () => void = () => undefined;
let expected = 0;
let emitPerMessage = false;

const NO_HISTORY = { deployments: 0, failures: 0, rollbacks: 0, failureRate: 0, rollbackRate: 0, lastFailureAt: null, recentIncidents: 0 };

@Controller()
class BenchHandlers {
  @OnMessage('deployment.outcome')
  async outcome(event: CloudEvent<'deployment.outcome'>, ctx: MessageContext): Promise<void> {
    ctx.writeLater('effects', event, async (manager: EntityManager, events: Array<CloudEvent<'deployment.outcome'>>) => {
      await manager.query(`INSERT INTO "transport"."effects" ("event_id", "project_id") SELECT * FROM unnest($1::uuid[], $2::text[])`, [
        events.map((e) => e.id),
        events.map((e) => e.data.projectId),
      ]);
    });
    if (emitPerMessage) {
      const { requestId, projectId, componentName } = event.data;
      const data = { projectId, componentName, project: NO_HISTORY, component: NO_HISTORY, revision: 1, cause: { requestId, kind: 'outcome' as const }, updatedAt: new Date().toISOString() };
      ctx.emit({ name: 'learning.model.updated', data });
    }
    ctx.onCommitted(() => {
      handled += 1;
      if (handled === expected) allHandled();
    });
  }
}

@Module({ controllers: [BenchHandlers] })
class BenchModule {}

/** Write system calls of this process so far (sockets to Postgres and NATS: it writes no files meanwhile). */
function writeSyscalls(): number {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      batch: { type: 'string', default: '16' },
      concurrency: { type: 'string', default: '4' },
      profile: { type: 'string' },
      emit: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void console.log(HELP);
  expected = Number(values.messages);
  emitPerMessage = values.emit === true;
  const { cleanup, db, nats } = await benchServers('bench:transport');
  const dataSource = createServiceDataSource({
    url: db.url,
    schema: 'transport',
    poolSize: 10,
    migrations: [...messagingMigrations('transport'), BenchTables1732500000010],
    applicationName: 'agf-bench-transport',
  });
  try {
    await initialiseDatabase(dataSource, 'transport');
    const relay = new OutboxRelay(dataSource, jetstream(nats.nc), { schema: 'transport', batchSize: 256, idleDelayMs: 1000, logger: console });
    relay.start();
    const server = new JetStreamServer({
      service: 'bench',
      schema: 'transport',
      nc: nats.nc,
      dataSource,
      namespace: nats.namespace,
      relay,
      streamOptions: { decisionRetentionDays: 1, retentionDays: 1, duplicateWindowMs: 60_000 },
      concurrency: Number(values.concurrency),
      maxTransactions: 7,
      batchSize: Number(values.batch),
      batchLingerMs: 0,
      maxDeliver: 5,
      ackWaitMs: 30_000,
      retryBaseMs: 500,
    });
    // Streams first (the server creates them when it listens), then the backlog, then the clock.
    const app = await NestFactory.createMicroservice(BenchModule, { logger: ['error', 'warn'], strategy: server });
    const done = new Promise<void>((resolve) => (allHandled = resolve));
    const js = jetstream(nats.nc);
    await ensureStreams(await jetstreamManager(nats.nc), nats.namespace);
    console.log(`publishing ${expected} deployment.outcome events…`);
    for (let sent = 0; sent < expected; sent += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, expected - sent) }, () => {
          const requestId = randomUUID();
          const event = createEvent({
            name: 'deployment.outcome',
            source: 'intake',
            correlationId: requestId,
            data: { requestId, projectId: 'bench', componentName: 'api', version: '1.0.0', status: 'succeeded', reportedAt: new Date().toISOString() },
          });
          return js.publish(nats.namespace.subject('agf.v1.deployment.outcome.bench'), JSON.stringify(event), { msgID: event.id });
        }),
      );
    }
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => list.getEntries().forEach((entry) => (gcMs += entry.duration)));
    gc.observe({ entryTypes: ['gc'] });
    // Only the consuming is profiled: filling the stream is not the transport's work.
    const profiler = values.profile ? new Session() : undefined;
    profiler?.connect();
    await profiler?.post('Profiler.enable');
    await profiler?.post('Profiler.start');
    const writesBefore = writeSyscalls();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await app.listen();
    await done;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    gc.disconnect();
    if (profiler && values.profile) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(values.profile, JSON.stringify(profile));
      console.log(`CPU profile of the consuming written to ${values.profile}`);
    }
    const perMessageUs = (cpu.user + cpu.system) / expected;
    console.log(
      `batch ${values.batch}, concurrency ${values.concurrency}${emitPerMessage ? ', an event emitted per message' : ''}: ${expected} messages in ${seconds.toFixed(1)} s (${(expected / seconds).toFixed(0)}/s); ` +
        `CPU per message ${perMessageUs.toFixed(0)} µs (user ${(cpu.user / expected).toFixed(0)}, system ${(cpu.system / expected).toFixed(0)}), of it GC ${((gcMs * 1000) / expected).toFixed(0)} µs; ` +
        `${((writeSyscalls() - writesBefore) / expected).toFixed(2)} socket writes per message`,
    );
    await app.close();
    await relay.stop();
  } finally {
    await dataSource.destroy().catch(() => undefined);
    await cleanup.run();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
