import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'tools', 'cli', 'src', 'main.js');
const jitData = [process.env['AGF_JIT_DATA'], resolve(ROOT, '..', 'shared', 'data', 'jit'), '/work/shared/data/jit'].find((dir): dir is string => Boolean(dir) && existsSync(join(dir!, 'kamei2013', 'columba.csv')));
if (!jitData) console.warn('evaluate-cli.int.test: the shared JIT data is absent (set AGF_JIT_DATA): skipped');
const maybe = jitData ? describe : describe.skip;

function agf(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.once('close', (status) => done({ status, stdout, stderr })));
}

maybe('agf model evaluate', () => {
  it('prints the time-wise result of a Kamei file (sorted by commit date) with every field, and the LR-JIT check', async () => {
    const result = await agf(['--json', 'model', 'evaluate', '--data', join(jitData!, 'kamei2013', 'columba.csv'), '--mode', 'time-wise', '--lr-jit']);
    expect(result.status).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, Record<string, number | string>>;
    expect(body['project']).toBe('columba');
    expect(body['timeWise']).toMatchObject({ project: 'columba', mode: 'time-wise', rows: 4455, train: 3564, test: 891 });
    for (const field of ['auc', 'brier', 'f1', 'recallAt20PercentEffort', 'trainSeconds']) expect(typeof body['timeWise']![field]).toBe('number');
    expect(body['timeWise']!['auc']).toBeGreaterThan(0.7);
    expect(body['online']).toBeUndefined();
    expect(body['lrJitReproduction']).toMatchObject({ mode: 'lr-jit-reproduction', test: 891 });
  });

  it('refuses a missing file with exit code 3', async () => {
    const result = await agf(['model', 'evaluate', '--data', join(jitData!, 'nope.csv')]);
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/no such file/);
  });
});
