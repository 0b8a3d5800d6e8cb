import { execFileSync } from 'node:child_process';

/** Git's id of the empty tree: the base of a repository's first commit. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const DAY_MS = 86_400_000;

export interface GitChange {
  base: string;
  head: string;
  branch: string;
  author: string;
  authorEmail: string;
  files: string[];
  /** Kamei et al.'s just-in-time change metrics, each where git history can give it. */
  metrics: { ns: number; nd: number; nf: number; entropy: number; la: number; ld: number; lt: number; fix: boolean; ndev: number; age: number; nuc: number; exp: number; rexp: number; sexp: number };
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).trim();
}

function tryGit(cwd: string, args: string[]): string | undefined {
  try {
    return git(cwd, args);
  } catch {
    return undefined;
  }
}

/**
 * The base a change is measured against: `--base` when given; else the merge base with the default branch
 * (origin/HEAD, main, master); when that is HEAD itself (working on the default branch), the previous commit;
 * in a repository of one commit, the empty tree (the whole commit is the change).
 */
export function resolveBase(cwd: string, explicit?: string): string {
  if (explicit) return git(cwd, ['rev-parse', '--verify', `${explicit}^{commit}`]);
  const head = git(cwd, ['rev-parse', 'HEAD']);
  const defaults = ['origin/HEAD', 'origin/main', 'origin/master', 'main', 'master'];
  for (const candidate of defaults) {
    const mergeBase = tryGit(cwd, ['merge-base', 'HEAD', candidate]);
    if (mergeBase && mergeBase !== head) return mergeBase;
  }
  return tryGit(cwd, ['rev-parse', '--verify', 'HEAD~1^{commit}']) ?? EMPTY_TREE;
}

export function gitChange(cwd: string, explicitBase?: string, now = new Date()): GitChange {
  const head = git(cwd, ['rev-parse', 'HEAD']);
  const base = resolveBase(cwd, explicitBase);
  const branch = tryGit(cwd, ['rev-parse', '--abbrev-ref', 'HEAD']) ?? 'HEAD';
  const [author = '', authorEmail = ''] = git(cwd, ['log', '-1', '--format=%an%x00%ae', 'HEAD']).split('\0');
  const numstat = git(cwd, ['diff', '--numstat', '--no-renames', base, head]);
  const changed = numstat
    ? numstat.split('\n').map((line) => {
        const [added, deleted, ...path] = line.split('\t');
        // Binary files show `-`: they change no lines.
        return { file: path.join('\t'), la: Number(added) || 0, ld: Number(deleted) || 0 };
      })
    : [];
  const files = changed.map((c) => c.file);
  const la = sum(changed.map((c) => c.la));
  const ld = sum(changed.map((c) => c.ld));
  const subsystems = new Set(files.map((f) => (f.includes('/') ? f.split('/')[0]! : '.')));
  const directories = new Set(files.map((f) => (f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : '.')));
  const total = la + ld;
  const entropy = total > 0 ? -sum(changed.map((c) => (c.la + c.ld) / total).filter((p) => p > 0).map((p) => p * Math.log2(p))) : 0;
  const hasBase = base !== EMPTY_TREE;
  // Lines in the changed files before the change, on average.
  const sizes = hasBase ? files.slice(0, 500).map((f) => lineCount(tryGit(cwd, ['show', `${base}:${f}`]))) : [];
  const lt = sizes.length ? sum(sizes) / sizes.length : 0;
  const messages = git(cwd, ['log', '--format=%s%n%b', hasBase ? `${base}..${head}` : head]);
  const fix = /\b(fix(es|ed)?|bug|defect|patch|hotfix)\b/i.test(messages);
  // History of the changed files before this change: who touched them, how often, how long ago.
  const history = hasBase && files.length ? fileHistory(cwd, base, files.slice(0, 500)) : [];
  const ndev = new Set(history.map((h) => h.email)).size;
  const nuc = new Set(history.map((h) => h.commit)).size;
  const lastChange = new Map<string, number>();
  for (const h of history) for (const f of h.files) lastChange.set(f, Math.max(lastChange.get(f) ?? 0, h.time));
  const ages = [...lastChange.values()].map((t) => (now.getTime() - t) / DAY_MS);
  const age = ages.length ? sum(ages) / ages.length : 0;
  // The author's experience: commits before this change, recent ones weighing more, and in these subsystems.
  const authored = hasBase ? authorHistory(cwd, base, authorEmail) : [];
  const exp = authored.length;
  const rexp = sum(authored.map((a) => 1 / ((now.getTime() - a.time) / (365 * DAY_MS) + 1)));
  const sexp = authored.filter((a) => a.files.some((f) => subsystems.has(f.includes('/') ? f.split('/')[0]! : '.'))).length;
  return {
    base,
    head,
    branch,
    author,
    authorEmail,
    files,
    metrics: { ns: subsystems.size, nd: directories.size, nf: files.length, entropy: round(entropy), la, ld, lt: round(lt), fix, ndev, age: round(age), nuc, exp, rexp: round(rexp), sexp },
  };
}

interface CommitInfo {
  commit: string;
  email: string;
  time: number;
  files: string[];
}

function parseLog(text: string): CommitInfo[] {
  return text
    .split('\x1e')
    .map((block) => block.trim())
    .filter(Boolean)
    .map((block) => {
      const [header = '', ...files] = block.split('\n').filter(Boolean);
      const [commit = '', email = '', time = '0'] = header.split('\0');
      return { commit, email, time: Number(time) * 1000, files };
    });
}

function fileHistory(cwd: string, base: string, files: string[]): CommitInfo[] {
  return parseLog(git(cwd, ['log', '--format=%x1e%H%x00%ae%x00%ct', '--name-only', base, '--', ...files]));
}

function authorHistory(cwd: string, base: string, email: string): CommitInfo[] {
  if (!email) return [];
  return parseLog(git(cwd, ['log', '--format=%x1e%H%x00%ae%x00%ct', '--name-only', `--author=<${email}>`, base]));
}

function lineCount(text: string | undefined): number {
  return text ? text.split('\n').length : 0;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const round = (n: number): number => Math.round(n * 1000) / 1000;
