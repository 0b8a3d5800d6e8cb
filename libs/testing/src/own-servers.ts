import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';
import { freePort } from './service-process';

/**
 * Servers of a test's own, on free ports with their own data directories, so a fault test can kill and
 * restart them without touching the servers everyone else uses.
 */

/** Resolves once something accepts TCP connections on the local port. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}

function findBinary(candidates: string[], missing: string): string {
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new Error(missing);
  return found;
}

/** The machine's nats-server (`NATS_SERVER_BIN`, else Debian's and the usual places). */
export function natsServerBinary(): string {
  return findBinary(
    [process.env['NATS_SERVER_BIN'] ?? '', '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'],
    'nats-server not found: install it (Debian/Ubuntu: apt install nats-server; or a release from https://github.com/nats-io/nats-server) or set NATS_SERVER_BIN',
  );
}

/** How a node of a cluster finds the others. */
interface ClusterMembership {
  name: string;
  clusterPort: number;
  routes: string[];
}

export class OwnNatsServer {
  private child: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly storeDir: string,
    private readonly membership?: ClusterMembership,
    private readonly configFile?: string,
  ) {}

  /** `configFile`: a nats-server configuration (authorization, TLS); port, JetStream and store come from here. */
  static async start(options: { configFile?: string } = {}): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(natsServerBinary(), await freePort(), mkdtempSync(join(tmpdir(), 'agf-nats-')), undefined, options.configFile);
    await server.launch();
    return server;
  }

  /** One node of an `OwnNatsCluster`. */
  static async startClusterNode(port: number, membership: ClusterMembership): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(natsServerBinary(), port, mkdtempSync(join(tmpdir(), `agf-nats-${membership.name}-`)), membership);
    await server.launch();
    return server;
  }

  /** The node's JetStream server name (cluster nodes only): what stream info names as leader and replicas. */
  get name(): string | undefined {
    return this.membership?.name;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  private async launch(): Promise<void> {
    const cluster = this.membership
      ? ['--server_name', this.membership.name, '--cluster_name', 'agf-test', '--cluster', `nats://127.0.0.1:${this.membership.clusterPort}`, '--routes', this.membership.routes.join(',')]
      : [];
    const config = this.configFile ? ['-c', this.configFile] : [];
    this.child = spawn(this.binary, [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...cluster], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    await waitForPort(this.port, 15_000, 'nats-server');
  }

  /** SIGKILL and start again on the same port and store: a crash and a restart. */
  async restart(downMs = 0): Promise<void> {
    await this.kill();
    if (downMs) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.launch();
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/**
 * A JetStream cluster of `size` nats-server nodes on free ports, each with its own store, routed to each other:
 * the topology AGF runs on with `AGF_STREAM_REPLICAS=3`.
 */
export class OwnNatsCluster {
  private constructor(readonly nodes: OwnNatsServer[]) {}

  static async start(size = 3): Promise<OwnNatsCluster> {
    const clientPorts: number[] = [];
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i += 1) {
      clientPorts.push(await freePort());
      clusterPorts.push(await freePort());
    }
    const routes = clusterPorts.map((port) => `nats://127.0.0.1:${port}`);
    const nodes = await Promise.all(
      clientPorts.map((port, i) => OwnNatsServer.startClusterNode(port, { name: `n${i}`, clusterPort: clusterPorts[i]!, routes: routes.filter((_, j) => j !== i) })),
    );
    return new OwnNatsCluster(nodes);
  }

  /** Every node as a seed list, as `NATS_URL` takes it. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  node(name: string): OwnNatsServer {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster`);
    return node;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

export class OwnPostgres {
  private tlsOptions = '';

  private constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  /** `tls`: serve TLS with this certificate (clients may then ask for `sslmode=verify-full`). */
  static async start(options: { tls?: { certFile: string; keyFile: string } } = {}): Promise<OwnPostgres> {
    const bin = findBinary([process.env['PG_BIN'] ?? '', ...postgresBinDirs()].map((dir) => (dir ? join(dir, 'pg_ctl') : '')), 'pg_ctl/initdb not found: install PostgreSQL server binaries (Debian/Ubuntu: apt install postgresql) or set PG_BIN to their directory').replace(/pg_ctl$/, '');
    const dataDir = mkdtempSync(join(tmpdir(), 'agf-pg-'));
    const server = new OwnPostgres(bin, await freePort(), dataDir);
    if (userInfo().uid === 0) chownSync(dataDir, postgresId('-u'), postgresId('-g'));
    server.run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    if (options.tls) {
      // Postgres wants its key readable by itself only.
      for (const [from, to] of [[options.tls.certFile, 'server.crt'], [options.tls.keyFile, 'server.key']] as const) {
        copyFileSync(from, join(dataDir, to));
        chmodSync(join(dataDir, to), 0o600);
        if (userInfo().uid === 0) chownSync(join(dataDir, to), postgresId('-u'), postgresId('-g'));
      }
      server.tlsOptions = ` -c ssl=on -c ssl_cert_file=${join(dataDir, 'server.crt')} -c ssl_key_file=${join(dataDir, 'server.key')}`;
    }
    await server.startServer();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/agf`;
  }

  private run(tool: string, args: string[]): void {
    const command = join(this.bin, tool);
    // PostgreSQL refuses to run as root; on a root CI machine it runs as the `postgres` user.
    if (userInfo().uid === 0) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
    else execFileSync(command, args, { stdio: 'pipe' });
  }

  private async startServer(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300${this.tlsOptions}`;
    this.run('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', join(this.dataDir, 'server.log'), '-w', 'start']);
    await waitForPort(this.port, 15_000, 'postgres');
  }

  /** An immediate (crash-like) stop and a start on the same port and data. */
  async restart(downMs = 0): Promise<void> {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    if (downMs) await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.startServer();
  }

  async stop(): Promise<void> {
    try {
      this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

function postgresBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config not on PATH
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) for (const version of readdirSync(debian).sort().reverse()) dirs.push(join(debian, version, 'bin'));
  return dirs;
}

function postgresId(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}
