import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repositoryRoot } from '@agf/platform';

export interface AgfRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = join(repositoryRoot(__dirname), 'dist', 'tools', 'cli', 'src', 'main.js');

/** Runs the built `agf` CLI as a pipeline step would, in `cwd`, with AGF_URL/AGF_TOKEN from `env`. */
export function agf(args: string[], options: { cwd: string; env?: Record<string, string> }): { done: Promise<AgfRun>; output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, GITHUB_RUN_ID: '', CI_JOB_ID: '', BUILD_TAG: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<AgfRun>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { done, output: () => stdout + stderr };
}

export const run = (args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<AgfRun> => agf(args, options).done;

/** A git repository in a temp directory with `commits`, each `{author, message, files: {path: content}}`. */
export function gitRepository(commits: Array<{ author: string; message: string; files: Record<string, string>; daysAgo?: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'agf-cli-'));
  const git = (args: string[], env: Record<string, string> = {}) => execFileSync('git', args, { cwd: dir, env: { ...process.env, ...env }, stdio: 'pipe' });
  git(['init', '-q', '-b', 'main']);
  for (const commit of commits) {
    for (const [path, content] of Object.entries(commit.files)) {
      execFileSync('mkdir', ['-p', dirname(join(dir, path))]);
      writeFileSync(join(dir, path), content);
    }
    const date = new Date(Date.now() - (commit.daysAgo ?? 0) * 86_400_000).toISOString();
    const [name, email] = [commit.author, `${commit.author}@example.com`];
    git(['add', '-A']);
    git(['-c', `user.name=${name}`, '-c', `user.email=${email}`, 'commit', '-q', '-m', commit.message], { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
  }
  return dir;
}
