import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Summarises an on-CPU profile of the services taken with Linux `perf` (docs/benchmarks.md): where
 * each service's main thread spends its CPU, by kind of code. V8's own profiler (`--cpu-prof`) samples wall
 * time, so on a busy host it counts the time a process waits, descheduled, inside a socket write; `perf`
 * samples only what runs. Services are recognised by the `perf-<pid>.map` files `--perf-basic-prof` writes.
 * `--by code` sorts the samples by whose code runs instead: which package's JavaScript, native work included.
 */

const KINDS = ['V8 builtins', 'V8 and Node runtime', 'kernel', 'JIT-compiled JavaScript', 'libc', 'garbage collection'] as const;
type Kind = (typeof KINDS)[number];

const GC_FRAME = /Scavenge|MarkCompact|MinorGCJob|IncrementalMarking|Heap::CollectGarbage|Sweeper|ConcurrentMarking/;

/** The kind of a sample, from its stack (leaf first): garbage collection wherever it sits, else by the leaf. */
export function kindOf(frames: string[]): Kind {
  if (frames.some((frame) => GC_FRAME.test(frame))) return 'garbage collection';
  const leaf = frames[0] ?? '';
  if (leaf.includes('[kernel.kallsyms]')) return 'kernel';
  if (/\/perf-\d+\.map\)|\[JIT\]/.test(leaf)) return 'JIT-compiled JavaScript';
  if (leaf.startsWith('Builtins_')) return 'V8 builtins';
  if (/libc\.so|libstdc\+\+/.test(leaf)) return 'libc';
  return 'V8 and Node runtime';
}

/** The npm package (innermost `node_modules`) or AGF app, library or tool a file of code belongs to. */
export function ownerOfCode(path: string): string | undefined {
  const inPackage = path.lastIndexOf('/node_modules/');
  if (inPackage >= 0) {
    const [scope, name] = path.slice(inPackage + '/node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  const own = /\/dist\/((?:apps|libs|tools)\/[^/]+)\//.exec(path)?.[1];
  return own ? `AGF ${own}` : undefined;
}

/**
 * Whose code a sample runs: the package (an npm package, or AGF's own library or app) of its innermost
 * JavaScript frame, whatever native code (builtins, the runtime, the kernel) it called; garbage collection
 * wherever it sits. A stack with no JavaScript frame is the event loop waiting or V8's own tasks.
 */
export function codeOf(frames: string[]): string {
  if (frames.some((frame) => GC_FRAME.test(frame))) return 'garbage collection';
  for (const frame of frames) {
    const path = /(\S+):\d+:\d+ \(\/tmp\/perf-\d+\.map\)$/.exec(frame)?.[1];
    if (!path) continue;
    const owner = ownerOfCode(path);
    if (owner) return owner;
    if (path.startsWith('node:')) return 'Node.js internals';
    return path;
  }
  return 'no JavaScript on the stack';
}

/** Which service a process was, from the code its perf map names (`dist/apps/<service>/`). */
function serviceOf(pid: string, mapDir: string): string | undefined {
  const map = `${mapDir}/perf-${pid}.map`;
  if (!existsSync(map)) return undefined;
  return /dist\/apps\/([a-z]+)\//.exec(readFileSync(map, 'utf8'))?.[1];
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'map-dir': { type: 'string', default: '/tmp' },
      by: { type: 'string', default: 'kind' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1 || !['kind', 'code'].includes(values.by!)) {
    console.log('usage: node dist/tools/bench/src/perf-profile.js <perf script output> [--map-dir /tmp] [--by kind|code]');
    console.log('  --by kind  shares by kind of code (builtins, runtime, kernel, JIT, libc, GC)');
    console.log('  --by code  shares by whose code runs (the package of the innermost JavaScript frame)');
    return;
  }
  const classify: (frames: string[]) => string = values.by === 'code' ? codeOf : kindOf;
  const byThread = new Map<string, Map<string, number>>();
  let thread: string | undefined;
  let frames: string[] = [];
  const flush = (): void => {
    if (thread === undefined || !frames.length) return;
    const counts = byThread.get(thread) ?? new Map<string, number>();
    const key = classify(frames);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    byThread.set(thread, counts);
  };
  for (const line of readFileSync(positionals[0]!, 'utf8').split('\n')) {
    if (line.startsWith('\t')) {
      frames.push(line.trim().replace(/^[0-9a-f]+ /, ''));
    } else if (line.trim()) {
      flush();
      // `perf script -F comm,pid,tid,ip,sym,dso`: "<comm> <pid>/<tid>"; only a process's main thread runs its JavaScript.
      const [pid, tid] = (line.trim().split(/\s+/)[1] ?? '').split('/');
      thread = pid === tid ? pid : undefined;
      frames = [];
    }
  }
  flush();
  const rows = [...byThread]
    .map(([pid, counts]) => ({ pid, service: serviceOf(pid, values['map-dir']!), counts, total: [...counts.values()].reduce((a, b) => a + b, 0) }))
    .filter((row) => row.service)
    .sort((a, b) => b.total - a.total);
  const share = (row: (typeof rows)[number], key: string) => ((100 * (row.counts.get(key) ?? 0)) / row.total).toFixed(0);
  if (values.by === 'kind') {
    console.log(`| service | samples | ${KINDS.join(' | ')} |`);
    console.log(`| --- | --- | ${KINDS.map(() => '---').join(' | ')} |`);
    for (const row of rows) console.log(`| ${row.service} (${row.pid}) | ${row.total} | ${KINDS.map((kind) => `${share(row, kind)} %`).join(' | ')} |`);
    return;
  }
  // Code by its share summed over the services, down to what is 1 % of one of them.
  const codes = [...new Set(rows.flatMap((row) => [...row.counts.keys()]))]
    .filter((code) => rows.some((row) => (row.counts.get(code) ?? 0) >= row.total / 100))
    .sort((a, b) => rows.reduce((sum, row) => sum + Number(share(row, b)), 0) - rows.reduce((sum, row) => sum + Number(share(row, a)), 0));
  console.log(`| code | ${rows.map((row) => `${row.service} (${row.total})`).join(' | ')} |`);
  console.log(`| --- | ${rows.map(() => '---').join(' | ')} |`);
  for (const code of codes) console.log(`| ${code} | ${rows.map((row) => `${share(row, code)} %`).join(' | ')} |`);
}

if (require.main === module) main();
