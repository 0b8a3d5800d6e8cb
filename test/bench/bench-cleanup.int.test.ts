import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { STREAM_NAMES } from '@agf/contracts';
import { Namespace } from '@agf/messaging';
import { repositoryRoot } from '@agf/platform';
import { createTestDatabase, TestNats, type TestDatabase } from '@agf/testing';

const ROOT = repositoryRoot(__dirname);

describe('a benchmark interrupted (real NATS JetStream and Postgres)', () => {
  /** A database of the test's own, to ask Postgres which databases exist. */
  let probe: TestDatabase;
  let nats: TestNats;

  beforeAll(async () => {
    probe = await createTestDatabase();
    nats = await TestNats.connect();
  });

  afterAll(async () => {
    await nats.cleanup();
    await probe.drop();
  });

  it('removes its services, streams and database on Ctrl-C, and says so', async () => {
    const bench = spawn(process.execPath, [join(ROOT, 'dist/tools/bench/src/sla-timers.js'), '--timers', '2000', '--window', '60', '--replicas', '1'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    let stderr = '';
    bench.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let database = '';
    let namespace = '';
    try {
      // Interrupted once its sla service runs and its timers are being written.
      for await (const line of createInterface({ input: bench.stdout })) {
        const named = /^database (\S+), NATS namespace (\S+) /.exec(line);
        if (named) [database, namespace] = [named[1]!, named[2]!];
        if (line.startsWith('scheduling')) break;
      }
      expect(database).toMatch(/^agf_test_/);
      const benchStreams = new Set(STREAM_NAMES.map((name) => new Namespace(namespace).stream(name)));
      const streams = async () => {
        const names: string[] = [];
        for await (const stream of nats.jsm.streams.list()) names.push(stream.config.name);
        return names.filter((name) => benchStreams.has(name));
      };
      expect(await streams()).not.toEqual([]);

      bench.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toContain('SIGINT: removing');
      expect(await probe.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database])).toEqual([]);
      expect(await streams()).toEqual([]);
    } finally {
      // Failed before its interruption: interrupt it anyway, so that it removes what it made.
      if (bench.exitCode === null && bench.signalCode === null) {
        bench.kill('SIGINT');
        await exited;
      }
    }
  }, 60_000);
});
