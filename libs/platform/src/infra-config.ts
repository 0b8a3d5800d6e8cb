import { z } from 'zod';

export const SERVICE_PORTS = { intake: 3000, risk: 3001, coe: 3002, sla: 3003, learning: 3004, compliance: 3005, console: 3006, notify: 3007, integrations: 3008, rollout: 3009 } as const;
export type ServiceName = keyof typeof SERVICE_PORTS;

const Int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const InfraEnv = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/agf'),
  /** The migration role's URL (it owns the schema); then DATABASE_URL is the service's own role, with data rights only. */
  AGF_DATABASE_MIGRATION_URL: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL').optional(),
  NATS_URL: z.string().regex(/^(nats|tls):\/\//, 'expected nats://host:port (comma-separated for several)').default('nats://127.0.0.1:4222'),
  /** The service's NATS nkey seed, in a file of its own (`agf nats-config` writes them). */
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  /** The CA that signed nats-server's certificate: connect with TLS and verify it. */
  NATS_TLS_CA_FILE: z.string().min(1).optional(),
  /** `external`: streams and consumers come from `agf provision`, and the service (without JetStream admin rights) only waits for them. */
  AGF_BUS_PROVISIONING: z.enum(['self', 'external']).default('self'),
  /** `migrations`: apply the schema's migrations (as the migration role when given, granting the service's role its rights) and exit, a deployment's migration step. */
  AGF_RUN: z.enum(['service', 'migrations']).default('service'),
  AGF_CONFIG: z.string().min(1).default('./agf-config.yaml'),
  /** Prefix for subjects and streams, so test runs sharing a NATS server never see each other. */
  AGF_NAMESPACE: z.string().regex(/^[A-Za-z0-9_-]{0,32}$/, 'expected up to 32 characters of [A-Za-z0-9_-]').default(''),
  AGF_CONSUMER_CONCURRENCY: Int(1, 1024).default(8),
  /** Overrides each service's batch size (messages per transaction under load); unset = the service's own. */
  AGF_CONSUMER_BATCH: Int(1, 256).optional(),
  /** Overrides each service's batch linger (how long a batching consumer under steady load waits for a fuller batch). */
  AGF_CONSUMER_LINGER_MS: Int(0, 1000).optional(),
  /** Overrides the service's CPU niceness (0: as its parent runs it; bookkeeping services default to 10). */
  AGF_CPU_NICENESS: Int(0, 19).optional(),
  AGF_MAX_DELIVER: Int(1, 100).default(5),
  AGF_ACK_WAIT_MS: Int(1000, 3_600_000).default(30_000),
  AGF_RETRY_BASE_MS: Int(10, 60_000).default(500),
  AGF_DB_POOL_SIZE: Int(1, 200).default(10),
  AGF_DECISION_RETENTION_DAYS: Int(1, 3650).default(30),
  /** Replicas of every AGF stream: 1 on a single nats-server, 3 on a cluster (at most the cluster's size). */
  AGF_STREAM_REPLICAS: Int(1, 5).default(1),
  /** `paused` leaves committed outbox rows unsent: operators use it to drain a node, tests to stage a crash. */
  AGF_OUTBOX_RELAY: z.enum(['on', 'paused']).default('on'),
  AGF_OUTBOX_POLL_MS: Int(10, 60_000).default(1000),
  /** HTTP requests per client address and minute before `429 Retry-After`. */
  AGF_RATE_LIMIT_PER_MINUTE: Int(1, 10_000_000).default(6000),
  /** Write requests a process works on at once before answering `503 Retry-After` (load shedding). */
  AGF_HTTP_MAX_WRITES: Int(1, 100_000).default(64),
  /** HTTP requests per authenticated principal and minute before `429 Retry-After`. */
  AGF_RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: Int(1, 10_000_000).default(6000),
  /** The OpenID provider whose tokens AGF accepts (discovery at `<issuer>/.well-known/openid-configuration`); unset: API keys only. */
  AGF_OIDC_ISSUER: z.url().optional(),
  /** The `aud` AGF's tokens must carry; required with AGF_OIDC_ISSUER. */
  AGF_OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Intake: where to write the admin key it creates on a database without one (mode 0600); unset: none is created. */
  AGF_BOOTSTRAP_KEY_FILE: z.string().min(1).optional(),
  /** Compliance: the append-only directory signed audit checkpoints go to; unset: none are written (`npm start` sets `.agf/audit-checkpoints`). */
  AGF_AUDIT_CHECKPOINT_DIR: z.string().min(1).optional(),
  /** Compliance: the Ed25519 private key (PEM) checkpoints are signed with, created on first use; required with AGF_AUDIT_CHECKPOINT_DIR. */
  AGF_AUDIT_CHECKPOINT_KEY_FILE: z.string().min(1).optional(),
  /** Compliance: a checkpoint after this many new entries… */
  AGF_AUDIT_CHECKPOINT_EVERY: Int(1, 1_000_000).default(1000),
  /** …or after this many seconds, whichever comes first (only when entries were added). */
  AGF_AUDIT_CHECKPOINT_INTERVAL_SECONDS: Int(1, 86_400).default(300),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
});

export type InfraConfig = z.infer<typeof InfraEnv> & { service: ServiceName; port: number; schema: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads infrastructure settings from the environment; an error names the variable and what was expected. */
export function loadInfraConfig(service: ServiceName, env: NodeJS.ProcessEnv = process.env): InfraConfig {
  const portVariable = `${service.toUpperCase()}_PORT`;
  const parsed = InfraEnv.extend({ [portVariable]: Int(0, 65535).default(SERVICE_PORTS[service]) }).safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment for ${service}:\n${lines.join('\n')}`);
  }
  const values = parsed.data as z.infer<typeof InfraEnv> & Record<string, number>;
  if (values.AGF_AUDIT_CHECKPOINT_DIR && !values.AGF_AUDIT_CHECKPOINT_KEY_FILE) {
    throw new ConfigError(`invalid environment for ${service}:\n  AGF_AUDIT_CHECKPOINT_KEY_FILE: required when AGF_AUDIT_CHECKPOINT_DIR is set`);
  }
  if (values.AGF_OIDC_ISSUER && !values.AGF_OIDC_AUDIENCE) {
    throw new ConfigError(`invalid environment for ${service}:\n  AGF_OIDC_AUDIENCE: required when AGF_OIDC_ISSUER is set`);
  }
  return { ...values, service, port: values[portVariable], schema: service };
}
