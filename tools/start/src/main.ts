import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Namespace } from '@agf/messaging';
import { Client } from 'pg';
import {
  ensureDatabase,
  EXIT_CONFIG_ERROR,
  MIGRATION_ROLE,
  provisionBus,
  provisionDatabaseRoles,
  repositoryRoot,
  SERVICE_PORTS,
  type ServiceName,
  serviceNodeFlags,
  serviceProcessEnv,
  serviceRole,
  urlAsRole,
  waitFor,
} from '@agf/platform';

/**
 * `npm start`: the whole system on one machine. Each service is its own process with its log lines
 * prefixed by its name; one that dies is restarted with backoff (one that exits with a configuration
 * error is not, since it would only fail again); Ctrl-C stops them all cleanly. Intake writes the first
 * admin API key to `AGF_BOOTSTRAP_KEY_FILE` (default `.agf/admin.key`) on a database without keys.
 */
const ROOT = repositoryRoot(__dirname);
/** Relative to the repository root, whatever directory npm was started from. */
const BOOTSTRAP_KEY_FILE = resolve(ROOT, process.env['AGF_BOOTSTRAP_KEY_FILE'] || join('.agf', 'admin.key'));
/** Signed audit checkpoints and their key, outside Postgres; `npm run audit:verify` reads the same defaults. */
const AUDIT_CHECKPOINT_DIR = resolve(ROOT, process.env['AGF_AUDIT_CHECKPOINT_DIR'] || join('.agf', 'audit-checkpoints'));
const AUDIT_CHECKPOINT_KEY_FILE = resolve(ROOT, process.env['AGF_AUDIT_CHECKPOINT_KEY_FILE'] || join('.agf', 'audit-checkpoint-key.pem'));
/** The seeds `agf nats-config --out DIR` wrote, for a nats-server with AGF's authorization: each service connects as its own user. */
const NATS_SEED_DIR = process.env['AGF_NATS_SEED_DIR'] ? resolve(ROOT, process.env['AGF_NATS_SEED_DIR']) : undefined;
const ALL = Object.keys(SERVICE_PORTS) as ServiceName[];
const COLORS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];
const RESET = '\x1b[0m';

interface Supervised {
  name: ServiceName;
  child?: ChildProcess;
  restarts: number;
  startedAt: number;
}

let stopping = false;
/** Each service's database URLs: its own role and the migration role, when they could be set up. */
let databaseEnv: (name: ServiceName) => Record<string, string> = () => ({});

function log(name: string, line: string, color = ''): void {
  const useColor = process.stdout.isTTY && !process.env['NO_COLOR'];
  process.stdout.write(`${useColor ? color : ''}${name.padEnd(12)}|${useColor ? RESET : ''} ${line}\n`);
}

function launch(service: Supervised, color: string): void {
  service.startedAt = Date.now();
  const child = spawn(process.execPath, [...serviceNodeFlags(service.name), join(ROOT, 'dist', 'apps', service.name, 'src', 'main.js')], {
    cwd: ROOT,
    env: {
      ...serviceProcessEnv(process.env),
      AGF_BOOTSTRAP_KEY_FILE: BOOTSTRAP_KEY_FILE,
      AGF_AUDIT_CHECKPOINT_DIR: AUDIT_CHECKPOINT_DIR,
      AGF_AUDIT_CHECKPOINT_KEY_FILE: AUDIT_CHECKPOINT_KEY_FILE,
      ...databaseEnv(service.name),
      // Streams and consumers were provisioned before the services started: they need no JetStream admin rights.
      AGF_BUS_PROVISIONING: 'external',
      ...(NATS_SEED_DIR ? { NATS_NKEY_SEED_FILE: join(NATS_SEED_DIR, `${service.name}.nk`) } : {}),
      NO_COLOR: process.env['NO_COLOR'] ?? (process.stdout.isTTY ? '' : '1'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service.child = child;
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => log(service.name, line, color));
  }
  child.on('exit', (code, signal) => {
    service.child = undefined;
    if (stopping) return;
    if (code === EXIT_CONFIG_ERROR) {
      log(service.name, `stopped: configuration error (exit ${code}); fix it and run npm start again`, color);
      return;
    }
    // Back off when a service keeps dying; a service that ran a while starts the count again.
    if (Date.now() - service.startedAt > 30_000) service.restarts = 0;
    const delay = Math.min(10_000, 500 * 2 ** service.restarts);
    service.restarts += 1;
    log(service.name, `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`, color);
    setTimeout(() => !stopping && launch(service, color), delay).unref();
  });
}

/**
 * Least privilege in Postgres: with an administrator's DATABASE_URL, the migration role and a role per service
 * are created, and each service runs as its own role. Where that is not possible (no right to create roles, or
 * the roles cannot log in without a password), the services run as DATABASE_URL's user, and it says so.
 */
async function setUpServiceRoles(databaseUrl: string): Promise<boolean> {
  try {
    await provisionDatabaseRoles(databaseUrl, ALL);
    const probe = new Client({ connectionString: urlAsRole(databaseUrl, MIGRATION_ROLE) });
    await probe.connect();
    await probe.end();
    log('start', `each service runs as its own Postgres role (agf_<service>); migrations as ${MIGRATION_ROLE}`);
    return true;
  } catch (error) {
    log('start', `services run as DATABASE_URL's user: per-service Postgres roles not set up (${(error as Error).message}); see docs/operations.md`);
    return false;
  }
}

async function main(): Promise<void> {
  const wanted = (process.env['AGF_SERVICES']?.split(',').map((s) => s.trim()).filter(Boolean) ?? ALL) as ServiceName[];
  const unknown = wanted.filter((name) => !ALL.includes(name));
  if (unknown.length) {
    log('start', `AGF_SERVICES: unknown service ${unknown.join(', ')}; expected some of ${ALL.join(', ')}`);
    process.exit(EXIT_CONFIG_ERROR);
  }
  const databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/agf';
  await waitFor('Postgres', () => ensureDatabase(databaseUrl), (message) => log('start', message));
  if (process.env['AGF_DB_ROLES'] !== 'off' && (await setUpServiceRoles(databaseUrl))) {
    databaseEnv = (name) => ({ DATABASE_URL: urlAsRole(databaseUrl, serviceRole(name)), AGF_DATABASE_MIGRATION_URL: urlAsRole(databaseUrl, MIGRATION_ROLE) });
  }
  const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
  const nkeySeed = NATS_SEED_DIR ? new TextEncoder().encode(readFileSync(join(NATS_SEED_DIR, 'provisioner.nk'), 'utf8').trim()) : undefined;
  const consumers = await waitFor('NATS', () => provisionBus({ url: natsUrl, nkeySeed, tlsCaFile: process.env['NATS_TLS_CA_FILE'], namespace: new Namespace(process.env['AGF_NAMESPACE'] ?? ''), warn: (message) => log('start', message) }), (message) => log('start', message));
  log('start', `provisioned every stream and ${consumers.length} durable consumers`);
  const services: Supervised[] = wanted.map((name) => ({ name, restarts: 0, startedAt: 0 }));
  services.forEach((service, index) => launch(service, COLORS[index % COLORS.length]!));
  log('start', `started ${wanted.join(', ')}; Ctrl-C stops everything`);
  void announceWhenReady(wanted);

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log('start', `${signal}: stopping every service`);
    const running = services.filter((s) => s.child);
    for (const service of running) service.child?.kill('SIGTERM');
    const force = setTimeout(() => running.forEach((s) => s.child?.kill('SIGKILL')), 10_000);
    void Promise.all(running.map((s) => new Promise((resolve) => (s.child ? s.child.once('exit', resolve) : resolve(undefined))))).then(() => {
      clearTimeout(force);
      log('start', 'all services stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/** Once every service answers its readiness probe: where the admin key is (never the key itself). */
async function announceWhenReady(names: ServiceName[]): Promise<void> {
  const ports = names.map((name) => Number(process.env[`${name.toUpperCase()}_PORT`] || SERVICE_PORTS[name]));
  const ready = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok === true;
  while (!stopping && !(await Promise.all(ports.map(ready))).every(Boolean)) await new Promise((resolve) => setTimeout(resolve, 500));
  if (stopping) return;
  if (names.includes('console')) log('start', `web console at http://localhost:${process.env['CONSOLE_PORT'] || SERVICE_PORTS.console}/ (sign in with an API key)`);
  if (!names.includes('intake')) return log('start', 'all ready (intake, which writes the admin API key, runs elsewhere)');
  log(
    'start',
    existsSync(BOOTSTRAP_KEY_FILE)
      ? `all ready; admin API key in ${BOOTSTRAP_KEY_FILE} (POST /v1/api-keys with it issues the others; npm run demo reads it)`
      : `all ready; no admin API key file at ${BOOTSTRAP_KEY_FILE}: intake writes one only to a database without any key`,
  );
}

void main();
