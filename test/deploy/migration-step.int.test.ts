import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repositoryRoot } from '@agf/platform';
import { OwnPostgres } from '@agf/testing';
import { Client } from 'pg';

jest.setTimeout(120_000);

const ROOT = repositoryRoot(__dirname);

/**
 * A deployment's migration step (the Helm chart's provisioning Job): a service started with `AGF_RUN=migrations`
 * migrates its schema and exits 0, without NATS, which it never reaches for.
 */
describe('AGF_RUN=migrations', () => {
  let postgres: OwnPostgres;

  beforeAll(async () => {
    postgres = await OwnPostgres.start();
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  it('migrates the service schema and exits 0 without connecting to NATS', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', 'risk', 'src', 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, AGF_RUN: 'migrations', DATABASE_URL: postgres.url, NATS_URL: 'nats://127.0.0.1:1', LOG_LEVEL: 'log' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect([exitCode, output.join('')]).toEqual([0, expect.stringMatching(/schema risk migrated/)]);

    const client = new Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM risk.migrations');
      expect(Number(rows[0]!.count)).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });
});
