import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '@agf/testing';

export const PROMETHEUS_BINARY = process.env['AGF_TEST_PROMETHEUS'] ?? '/usr/bin/prometheus';
export const prometheusInstalled = (): boolean => existsSync(PROMETHEUS_BINARY);

/** A tiny exporter whose gauges the test sets: `agf_test_error_ratio{component="…"} value`. */
export class TestExporter {
  private readonly values = new Map<string, number>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<TestExporter> {
    let exporter: TestExporter | undefined = undefined;
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      const lines = ['# HELP agf_test_error_ratio Share of failed requests', '# TYPE agf_test_error_ratio gauge'];
      for (const [component, value] of exporter!.values) lines.push(`agf_test_error_ratio{component="${component}"} ${value}`);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    });
    exporter = new TestExporter(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return exporter;
  }

  get target(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  set(component: string, value: number): void {
    this.values.set(component, value);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Debian's Prometheus, scraping the exporter every second, with its data in a temporary directory. */
export class TestPrometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    readonly output: string[],
  ) {}

  static async start(scrapeTarget: string): Promise<TestPrometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'agf-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: ["${scrapeTarget}"]\n`);
    const port = await freePort();
    const output: string[] = [];
    const child = spawn(PROMETHEUS_BINARY, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const prometheus = new TestPrometheus(child, dir, `http://127.0.0.1:${port}`, output);
    try {
      await eventually(async () => expect((await fetch(`${prometheus.url}/-/ready`)).status).toBe(200), 30_000, 250);
    } catch (error) {
      await prometheus.stop();
      throw new Error(`Prometheus did not become ready: ${(error as Error).message}\n${output.join('').slice(-2000)}`, { cause: error });
    }
    return prometheus;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
