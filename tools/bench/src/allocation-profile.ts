import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ownerOfCode } from './perf-profile';

/**
 * What the services allocate, by call site (docs/benchmarks.md, "Where the time goes"). Garbage collection
 * takes a tenth to a third of a service's busy time, and what it costs follows what is allocated.
 *
 * Two roles:
 * - required into every service (`--require …/allocation-profile.js` in `AGF_SERVICE_NODE_FLAGS`), it runs V8's
 *   sampling heap profiler from `AGF_ALLOCATION_PROFILE_START_S` seconds after start for
 *   `AGF_ALLOCATION_PROFILE_SECONDS`, counting objects the collector has freed too (by default V8 reports
 *   only what is still alive), and writes `<service>.heapprofile` to `AGF_ALLOCATION_PROFILE_DIR`;
 * - run with those files, it prints each one's bytes by package and its largest call sites (innermost frames).
 */

export interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const DIRECTORY = process.env['AGF_ALLOCATION_PROFILE_DIR'];

function sampleThisProcess(directory: string): void {
  const service = /dist\/apps\/([a-z]+)\//.exec(process.argv[1] ?? '')?.[1];
  if (!service) return;
  const startAfterMs = Number(process.env['AGF_ALLOCATION_PROFILE_START_S'] ?? 35) * 1000;
  const forMs = Number(process.env['AGF_ALLOCATION_PROFILE_SECONDS'] ?? 25) * 1000;
  const session = new Session();
  session.connect();
  setTimeout(() => {
    session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    setTimeout(() => {
      session.post('HeapProfiler.stopSampling', (error, result) => {
        if (error) return console.error(`allocation profile: ${error.message}`);
        writeFileSync(join(directory, `${service}.heapprofile`), JSON.stringify(result.profile));
      });
    }, forMs).unref();
  }, startAfterMs).unref();
}

/** The package (or AGF's own app or library) a frame's code belongs to. */
export function packageOf(url: string): string {
  return ownerOfCode(url) ?? (url || '(native)');
}

/** Bytes by package of the allocating frame, and by call site: the allocating frame and its three callers. */
export function summarise(head: ProfileNode): { total: number; byPackage: Map<string, number>; bySite: Map<string, number> } {
  const byPackage = new Map<string, number>();
  const bySite = new Map<string, number>();
  let total = 0;
  const visit = (node: ProfileNode, callers: string[]): void => {
    const frame = node.callFrame;
    const pkg = packageOf(frame.url);
    const site = [`${pkg} ${frame.functionName || '(anonymous)'}:${frame.lineNumber}`, ...callers].slice(0, 4);
    if (node.selfSize) {
      total += node.selfSize;
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize);
      const key = site.join(' < ');
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) visit(child, site);
  };
  visit(head, []);
  return { total, byPackage, bySite };
}

function report(files: string[], sites: number): void {
  const share = (bytes: number, total: number) => `${((100 * bytes) / total).toFixed(1).padStart(5)} %`;
  const largest = (map: Map<string, number>, n: number) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  for (const file of files) {
    const { total, byPackage, bySite } = summarise((JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode }).head);
    console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MB allocated while sampled`);
    console.log(`  by package: ${largest(byPackage, 10).map(([pkg, bytes]) => `${pkg} ${share(bytes, total).trim()}`).join(', ')}`);
    for (const [site, bytes] of largest(bySite, sites)) console.log(`  ${share(bytes, total)} ${site}`);
  }
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { sites: { type: 'string', default: '10' }, help: { type: 'boolean' } } });
  if (values.help || !positionals.length) {
    console.log('usage: node dist/tools/bench/src/allocation-profile.js [--sites 10] <service>.heapprofile ...');
    process.exit(values.help ? 0 : 2);
  }
  report(positionals, Number(values.sites));
} else if (DIRECTORY) {
  sampleThisProcess(DIRECTORY);
}
