import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Summarises an on-CPU profile of the services taken with Linux `perf` (docs/benchmarks.md, run 18): where
 * each service's main thread spends its CPU, by kind of code. V8's own profiler (`--cpu-prof`) samples wall
 * time, so on a busy host it counts the time a process waits, descheduled, inside a socket write; `perf`
 * samples only what runs. Services are recognised by the `perf-<pid>.map` files `--perf-basic-prof` writes.
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

/** Which service a process was, from the code its perf map names (`dist/apps/<service>/`). */
function serviceOf(pid: string, mapDir: string): string | undefined {
  const map = `${mapDir}/perf-${pid}.map`;
  if (!existsSync(map)) return undefined;
  return /dist\/apps\/([a-z]+)\//.exec(readFileSync(map, 'utf8'))?.[1];
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'map-dir': { type: 'string', default: '/tmp' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help || positionals.length !== 1) {
    console.log('usage: node dist/tools/bench/src/perf-profile.js <perf script output> [--map-dir /tmp]');
    return;
  }
  const byThread = new Map<string, Map<Kind, number>>();
  let thread: string | undefined;
  let frames: string[] = [];
  const flush = (): void => {
    if (thread === undefined || !frames.length) return;
    const counts = byThread.get(thread) ?? new Map<Kind, number>();
    const kind = kindOf(frames);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
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
    .filter((row) => row.service);
  console.log(`| service | samples | ${KINDS.join(' | ')} |`);
  console.log(`| --- | --- | ${KINDS.map(() => '---').join(' | ')} |`);
  for (const row of rows.sort((a, b) => b.total - a.total)) {
    const share = (kind: Kind) => `${((100 * (row.counts.get(kind) ?? 0)) / row.total).toFixed(0)} %`;
    console.log(`| ${row.service} (${row.pid}) | ${row.total} | ${KINDS.map(share).join(' | ')} |`);
  }
}

if (require.main === module) main();
