import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { repositoryRoot, type ServiceName, serviceNodeFlags, serviceProcessEnv } from '@agf/platform';
import { testIdentity } from './test-identity';

export type { ServiceName } from '@agf/platform';

const ROOT = repositoryRoot(__dirname);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Every child still running; killed when the test process exits, so no test run leaves services behind. */
const LIVE_CHILDREN = new Set<ChildProcess>();
// Jest loads this module once per test file in a worker process, so each file adds its own listener.
process.setMaxListeners(Math.max(process.getMaxListeners(), 64));
process.once('exit', () => {
  for (const child of LIVE_CHILDREN) child.kill('SIGKILL');
});

export interface ServiceProcessOptions {
  databaseUrl: string;
  namespace: string;
  env?: Record<string, string>;
  /**
   * Run at the service's own CPU niceness (bookkeeping services at 10), as `npm start` and benchmarks do.
   * Tests otherwise run every service at 0: on a host busy with Jest workers at 0, a niced service gets a
   * tenth of their share, and a test's timing (an SLA due within a second) would depend on the scheduler.
   */
  ownNiceness?: boolean;
}

/**
 * One service as its own OS process, started from the build in `dist/` (npm test builds first), so tests
 * can SIGKILL it and start it again exactly as a crash and a restart would.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly options: ServiceProcessOptions,
  ) {}

  static async start(name: ServiceName, options: ServiceProcessOptions): Promise<ServiceProcess> {
    const service = new ServiceProcess(name, await freePort(), options);
    await service.restart();
    return service;
  }

  /** The running process id (for CPU and memory sampling), undefined while stopped. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restart(extraEnv: Record<string, string> = {}): Promise<void> {
    const entry = join(ROOT, 'dist', 'apps', this.name, 'src', 'main.js');
    const env = {
      ...serviceProcessEnv(process.env),
      // Tests authenticate with tokens of this process's own issuer (a test may point a service elsewhere).
      ...(await testIdentity()).env,
      DATABASE_URL: this.options.databaseUrl,
      AGF_NAMESPACE: this.options.namespace,
      [`${this.name.toUpperCase()}_PORT`]: String(this.port),
      AGF_OUTBOX_POLL_MS: '200',
      AGF_RETRY_BASE_MS: '100',
      LOG_LEVEL: 'warn',
      NO_COLOR: '1',
      ...(this.options.ownNiceness ? {} : { AGF_CPU_NICENESS: '0' }),
      ...this.options.env,
      ...extraEnv,
    };
    // The flags follow the child's own environment (a test may set AGF_SERVICE_NODE_FLAGS for it).
    this.child = spawn(process.execPath, [...serviceNodeFlags(this.name, env), entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = this.child;
    LIVE_CHILDREN.add(child);
    child.once('exit', () => LIVE_CHILDREN.delete(child));
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString());
      if (this.output.length > 500) this.output.shift();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    try {
      await this.waitUntilReady();
    } catch (error) {
      await this.kill(); // a service that never became ready must not outlive the failed test
      throw error;
    }
  }

  async waitUntilReady(timeoutMs = Number(process.env['AGF_TEST_READY_MS'] ?? 30_000)): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null && this.child?.exitCode !== undefined) {
        throw new Error(`${this.name} exited with ${this.child.exitCode}:\n${this.output.join('')}`);
      }
      try {
        const response = await fetch(`${this.url}/health/ready`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.join('')}`);
  }

  /** SIGKILL: no shutdown hooks run, exactly like a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
