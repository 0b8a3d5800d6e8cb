import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from '@agf/platform';

jest.setTimeout(120_000);

const ROOT = repositoryRoot(__dirname);

/**
 * `npm run cli:pack` makes the CLI its own npm package. Unpacked outside the repository (its dependencies
 * provided as an install would, and nothing else of the repository reachable), it runs: every file it
 * requires is in the tarball.
 */
describe('the packaged agf CLI', () => {
  let dir: string;
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('packs the CLI with only the files and dependencies it needs, and runs outside the repository', () => {
    const packed = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'dist', 'tools', 'cli', 'src', 'pack.js')], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!) as {
      tarball: string;
      dependencies: Record<string, string>;
    };
    expect(Object.keys(packed.dependencies).sort()).toEqual(['commander', 'yaml', 'zod']);
    dir = mkdtempSync(join(tmpdir(), 'agf-cli-pack-'));
    execFileSync('tar', ['-xzf', packed.tarball, '-C', dir]);
    const pkg = join(dir, 'package');
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect(manifest).toMatchObject({ name: 'agf-cli', bin: { agf: 'bin/agf.js' } });
    // Only the declared dependencies are reachable, as after `npm install agf-cli-….tgz`.
    execFileSync('mkdir', ['-p', join(pkg, 'node_modules')]);
    for (const name of Object.keys(packed.dependencies)) symlinkSync(join(ROOT, 'node_modules', name), join(pkg, 'node_modules', name));
    const agf = (args: string[], cwd = dir) => spawnSync(process.execPath, [join(pkg, 'bin', 'agf.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });

    expect(agf(['--help']).status).toBe(0);
    expect(agf(['init', '--yes', '-o', join(dir, 'agf-config.yaml')]).status).toBe(0);
    expect(agf(['config', 'validate', join(dir, 'agf-config.yaml')]).status).toBe(0);
    writeFileSync(join(dir, 'bad.yaml'), 'governance:\n  enabled: maybe\n');
    const bad = agf(['config', 'validate', join(dir, 'bad.yaml')]);
    expect(bad.status).toBe(3);
    expect(bad.stderr + bad.stdout).toMatch(/governance\.enabled/);
    // Nothing listens on port 9: exit 4, AGF unreachable.
    expect(agf(['status', '00000000-0000-4000-8000-000000000000', '--url', 'http://127.0.0.1:9', '--token', 'agf_x']).status).toBe(4);
    const dlq = agf(['dlq', 'list']);
    expect(dlq.status).toBe(3);
    expect(dlq.stderr).toMatch(/checkout of the AGF repository/);
  });
});
