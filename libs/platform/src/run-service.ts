import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { type DynamicModule, Logger, type LogLevel, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { jetstream } from '@nats-io/jetstream';
import { LIMITS } from '@agf/contracts';
import { loadPolicyFile } from '@agf/policy';
import { connectNats, inboxRetentionMs, JetStreamServer, Namespace, OutboxRelay, purgeInbox, type StreamOptions, TransactionalPublisher } from '@agf/messaging';
import type { IncomingMessage } from 'node:http';
import express from 'express';
import helmet from 'helmet';
import type { MigrationInterface } from 'typeorm';
import { createServiceDataSource, ensureDatabase, initialiseDatabase, waitFor } from './database';
import { grantServiceRole, roleOfUrl } from './database-roles';
import { inboxPrefixOf } from './bus/bus-roles';
import { loadInfraConfig, type ServiceName } from './infra-config';
import { httpMetricsMiddleware, MetricsService } from './metrics';
import { PlatformModule, type ServiceRuntime } from './platform.module';
import { bodyParserProblems } from './problem';
import { writeAdmission } from './admission';
import { AccessRefusals, ApiKeyReplica, authenticationMiddleware, Authenticator, perPrincipalRateLimit } from './auth';
import { ExpertRegistryReplica } from './registry';
import { perClientRateLimit } from './rate-limit';
import { httpTracingMiddleware, startTracing } from './tracing';

export interface ServiceDefinition {
  name: ServiceName;
  /** The service's own (static) Nest module; it injects what PlatformModule provides. */
  module: Type;
  migrations: Array<new () => MigrationInterface>;
  /** Tables the service may only read and append to (no UPDATE, DELETE or TRUNCATE grant when it runs as its own role). */
  appendOnlyTables?: string[];
  /** Waiting messages handled per transaction under load (1 = one per transaction); `AGF_CONSUMER_BATCH` overrides. */
  consumerBatchSize?: number;
  /**
   * How long a batching consumer under steady load waits for a fuller batch (`AGF_CONSUMER_LINGER_MS`
   * overrides). Short on the decision path (risk, coe), where it adds to every decision's latency; longer
   * for the consumers that only keep books (read model, audit, timers, history).
   */
  consumerLingerMs: number;
  /**
   * The process's niceness (`AGF_CPU_NICENESS` overrides; 0 = as started): on a host it shares with the
   * decision path, a bookkeeping service yields the CPU to intake, risk and coe and catches up when they idle.
   */
  cpuNiceness?: number;
  /** Extra HTTP set-up (OpenAPI, body limits) before the server listens. */
  configureHttp?: (app: NestExpressApplication, runtime: ServiceRuntime) => void;
  /**
   * Keeps a replica of the expert registry (`AGF_REGISTRY`), injectable as `ExpertRegistryReplica`: for services
   * that need to know experts other than coe, which owns the registry (reviewer visibility, notification addresses).
   */
  expertRegistry?: boolean;
  /**
   * POST routes that authenticate their caller themselves (webhooks signed with a shared secret, each marked
   * `@SelfAuthenticated()`): no bearer credential is asked of them, and their raw body is kept (`rawBodyOf`).
   */
  selfAuthenticatedPaths?: string[];
  /** Runs once consumers, the key replica and the outbox relay are up, before HTTP listens (intake's bootstrap admin key). */
  afterStart?: (runtime: ServiceRuntime) => Promise<void>;
}

/**
 * Consumer settings of the services that only keep books on a request (compliance's audit trail, sla's
 * timers, learning's history): no decision waits on them, but for a COMPLIANCE_REQUIRED request's on
 * compliance's evaluation. Under load they wait longer for larger batches, so that a message costs them a
 * smaller share of a transaction; at rest a message is still taken at once. They run at niceness 10 (sla
 * excepted, for its timers): where they share cores with the decision path, a decision does not wait behind a
 * batch of audit records.
 */
export const BOOKKEEPING_CONSUMER = { consumerBatchSize: 64, consumerLingerMs: 100, cpuNiceness: 10 } as const satisfies Partial<ServiceDefinition>;

export interface RunningService {
  runtime: ServiceRuntime;
  app: NestExpressApplication;
  stop(): Promise<void>;
}

/** Exit code for a configuration error: the supervisor does not restart a service that cannot start. */
export const EXIT_CONFIG_ERROR = 78;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** How often a service forgets inbox entries older than any message that could still come again. */
const INBOX_PURGE_INTERVAL_MS = 10 * 60_000;

/**
 * Starts one service: validated configuration, Postgres (waiting for it, migrating its schema), NATS
 * (waiting for it), streams and durable consumers, the outbox relay, then HTTP. SIGTERM/SIGINT stop it cleanly.
 */
export async function runService(definition: ServiceDefinition): Promise<RunningService> {
  const logger = new Logger(definition.name);
  let runtime: ServiceRuntime;
  try {
    const infra = loadInfraConfig(definition.name);
    const policy = loadPolicyFile(infra.AGF_CONFIG);
    runtime = { infra, policy } as ServiceRuntime;
  } catch (error) {
    logger.error((error as Error).message);
    process.exit(EXIT_CONFIG_ERROR);
  }
  const { infra } = runtime;
  lowerCpuPriority(infra.AGF_CPU_NICENESS ?? definition.cpuNiceness ?? 0, logger);
  const tracing = startTracing(definition.name);
  runtime.namespace = new Namespace(infra.AGF_NAMESPACE);
  runtime.metrics = new MetricsService(definition.name);

  await waitFor('Postgres', () => ensureDatabase(infra.AGF_DATABASE_MIGRATION_URL ?? infra.DATABASE_URL), (m) => logger.warn(m));
  runtime.dataSource = createServiceDataSource({
    url: infra.DATABASE_URL,
    schema: infra.schema,
    poolSize: infra.AGF_DB_POOL_SIZE,
    // With a migration role, the service's own role runs no DDL: the migrations run on their own connection.
    migrations: infra.AGF_DATABASE_MIGRATION_URL ? [] : definition.migrations,
    applicationName: `agf-${definition.name}`,
  });
  await waitFor('Postgres migrations', () => initialiseDatabaseOnce(runtime, definition), (m) => logger.warn(m));
  if (infra.AGF_RUN === 'migrations') {
    logger.log(`schema ${infra.schema} migrated`);
    await runtime.dataSource.destroy();
    await tracing.shutdown().catch(() => undefined);
    process.exit(0);
  }
  let nkeySeed: Uint8Array | undefined;
  try {
    nkeySeed = infra.NATS_NKEY_SEED_FILE ? new TextEncoder().encode(readFileSync(infra.NATS_NKEY_SEED_FILE, 'utf8').trim()) : undefined;
  } catch (error) {
    logger.error(`NATS_NKEY_SEED_FILE: cannot read it (${(error as Error).message})`);
    process.exit(EXIT_CONFIG_ERROR);
  }
  runtime.nc = await waitFor('NATS', () => connectNats(infra.NATS_URL, `agf-${definition.name}`, { nkeySeed, inboxPrefix: inboxPrefixOf(definition.name), tlsCaFile: infra.NATS_TLS_CA_FILE }), (m) => logger.warn(m));
  const maxPayload = runtime.nc.info?.max_payload ?? 0;
  if (maxPayload && maxPayload < LIMITS.maxEventBytes + 8 * 1024) {
    logger.error(`the NATS server's max_payload is ${maxPayload} bytes; AGF's events may be ${LIMITS.maxEventBytes} bytes: set max_payload to at least 1 MiB`);
  }
  runtime.relay = new OutboxRelay(runtime.dataSource, jetstream(runtime.nc), {
    schema: infra.schema,
    batchSize: 256,
    idleDelayMs: infra.AGF_OUTBOX_POLL_MS,
    // Another replica's poller leaves a row this long to the process publishing it after its commit.
    graceMs: 5000,
    logger,
    onPublished: (count) => runtime.metrics.outboxPublished.inc(count),
  });
  runtime.metrics.trackOutbox(runtime.relay);
  runtime.publisher = new TransactionalPublisher(runtime.dataSource, infra.schema, infra.service, runtime.namespace, runtime.relay);
  runtime.keys = new ApiKeyReplica();
  const oidc = infra.AGF_OIDC_ISSUER ? { issuer: infra.AGF_OIDC_ISSUER, audience: infra.AGF_OIDC_AUDIENCE! } : undefined;
  runtime.authenticator = new Authenticator(runtime.keys, oidc, runtime.policy.auth);
  runtime.refusals = new AccessRefusals(definition.name, runtime.publisher);
  if (definition.expertRegistry) runtime.experts = new ExpertRegistryReplica();

  const streamOptions: StreamOptions = {
    decisionRetentionDays: infra.AGF_DECISION_RETENTION_DAYS,
    retentionDays: 7,
    duplicateWindowMs: 120_000,
    replicas: infra.AGF_STREAM_REPLICAS,
  };

  @Module({ imports: [PlatformModule.register(runtime), definition.module] })
  class ServiceRootModule {}

  const app = await NestFactory.create<NestExpressApplication>(ServiceRootModule as unknown as DynamicModule, {
    bodyParser: false,
    logger: LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(infra.LOG_LEVEL) + 1),
  });
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(httpTracingMiddleware(definition.name));
  app.use(httpMetricsMiddleware(runtime.metrics));
  app.use(perClientRateLimit(infra.AGF_RATE_LIMIT_PER_MINUTE));
  app.use(authenticationMiddleware(runtime.authenticator, runtime.refusals, new Set(definition.selfAuthenticatedPaths ?? [])));
  app.use(perPrincipalRateLimit(infra.AGF_RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE));
  app.use(writeAdmission(infra.AGF_HTTP_MAX_WRITES));
  app.use(express.json({ limit: '1mb', type: ['application/json', 'application/*+json'], verify: keepRawBody(definition.selfAuthenticatedPaths) }));
  app.use(bodyParserProblems);
  definition.configureHttp?.(app, runtime);
  app.connectMicroservice(
    {
      strategy: new JetStreamServer({
        service: definition.name,
        schema: infra.schema,
        nc: runtime.nc,
        dataSource: runtime.dataSource,
        namespace: runtime.namespace,
        relay: runtime.relay,
        streamOptions,
        concurrency: infra.AGF_CONSUMER_CONCURRENCY,
        // The rest of the pool stays free for HTTP requests, the outbox relay and background loops.
        maxTransactions: Math.max(1, infra.AGF_DB_POOL_SIZE - 3),
        batchSize: infra.AGF_CONSUMER_BATCH ?? definition.consumerBatchSize ?? 1,
        batchLingerMs: infra.AGF_CONSUMER_LINGER_MS ?? definition.consumerLingerMs,
        maxDeliver: infra.AGF_MAX_DELIVER,
        provisioned: infra.AGF_BUS_PROVISIONING === 'external',
        ackWaitMs: infra.AGF_ACK_WAIT_MS,
        retryBaseMs: infra.AGF_RETRY_BASE_MS,
        observe: runtime.metrics.observeMessage,
      }),
    },
    { inheritAppConfig: true },
  );
  // Bootstrap hooks (e.g. loading the expert registry) run before any message is consumed.
  await app.init();
  await app.startAllMicroservices();
  // The streams exist now; credentials wait for the key replica to catch up before they are judged.
  await runtime.keys.start(runtime.nc, runtime.namespace);
  await runtime.keys.ready;
  if (runtime.experts) {
    await runtime.experts.start(runtime.nc, runtime.namespace);
    await runtime.experts.ready;
  }
  if (infra.AGF_OUTBOX_RELAY === 'on') runtime.relay.start();
  else logger.warn('outbox relay paused (AGF_OUTBOX_RELAY=paused): committed events stay unsent');
  await definition.afterStart?.(runtime);
  const inboxPurge = setInterval(() => {
    purgeInbox(runtime.dataSource, infra.schema, inboxRetentionMs(streamOptions)).catch((error: Error) => logger.warn(`inbox purge failed (${error.message}); next try in 10 min`));
  }, INBOX_PURGE_INTERVAL_MS);
  inboxPurge.unref();
  await app.listen(infra.port, '0.0.0.0');
  logger.log(`ready on :${infra.port} (namespace "${runtime.namespace.prefix}")`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(inboxPurge);
      await app.close();
      await runtime.keys.stop().catch(() => undefined);
      await runtime.experts?.stop().catch(() => undefined);
      await runtime.relay.stop();
      await runtime.nc.drain().catch(() => undefined);
      await runtime.dataSource.destroy().catch(() => undefined);
      await tracing.shutdown().catch(() => undefined);
    })());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: stopping`);
      void stop().then(() => process.exit(0));
    });
  }
  return { runtime, app, stop };
}

const RAW_BODY = Symbol('agf:raw-body');

/** A signed webhook's signature covers the bytes as sent, so those routes keep them beside the parsed JSON. */
function keepRawBody(paths: string[] | undefined): ((req: IncomingMessage, _res: unknown, body: Buffer) => void) | undefined {
  if (!paths?.length) return undefined;
  const wanted = new Set(paths);
  return (req, _res, body) => {
    if (wanted.has((req as express.Request).path ?? '')) (req as IncomingMessage & { [RAW_BODY]?: Buffer })[RAW_BODY] = body;
  };
}

/** The raw body of a self-authenticated route's request (undefined elsewhere, or without a JSON body). */
export function rawBodyOf(req: IncomingMessage): Buffer | undefined {
  return (req as IncomingMessage & { [RAW_BODY]?: Buffer })[RAW_BODY];
}

async function initialiseDatabaseOnce(runtime: ServiceRuntime, definition: ServiceDefinition): Promise<void> {
  if (runtime.dataSource.isInitialized) await runtime.dataSource.destroy();
  const { infra } = runtime;
  if (!infra.AGF_DATABASE_MIGRATION_URL) {
    await initialiseDatabase(runtime.dataSource, infra.schema);
    return;
  }
  const migrator = createServiceDataSource({ url: infra.AGF_DATABASE_MIGRATION_URL, schema: infra.schema, poolSize: 2, migrations: definition.migrations, applicationName: `agf-${definition.name}-migrations` });
  try {
    await initialiseDatabase(migrator, infra.schema);
    const role = roleOfUrl(infra.DATABASE_URL);
    if (role !== roleOfUrl(infra.AGF_DATABASE_MIGRATION_URL)) await grantServiceRole(migrator, infra.schema, role, definition.appendOnlyTables);
  } finally {
    if (migrator.isInitialized) await migrator.destroy();
  }
  await runtime.dataSource.initialize();
}

/**
 * Raises this process's niceness to `niceness` (never lowers it: that needs privileges, and whoever started
 * the process nicer meant it). Linux keeps a niceness per thread, so every thread running now (V8's
 * compiler and collector helpers, libuv's pool) gets it; threads started later inherit it.
 */
function lowerCpuPriority(niceness: number, logger: Logger): void {
  if (niceness <= getPriority()) return;
  let threads: number[] = [0];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    // not Linux: the process as the platform defines it
  }
  try {
    for (const thread of threads) setPriority(thread, niceness);
  } catch (error) {
    logger.warn(`AGF_CPU_NICENESS: cannot set niceness ${niceness} (${(error as Error).message})`);
  }
}
