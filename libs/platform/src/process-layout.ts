import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServiceName } from './infra-config';

/** The repository root (where nx.json is), whether the caller runs from source (Jest) or from `dist/`. */
export function repositoryRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
  }
  throw new Error(`no nx.json above ${from}`);
}

/**
 * Node flags every service process runs with (npm start, tests, benchmarks, the container image). V8 sizes
 * the young generation for the machine's memory (tens of MB on a large host) and lets the old generation
 * grow to about twice what is live; 2 MB semi-spaces and a heap growing factor of 1.1 keep a service near
 * 140–170 MB RSS under load instead of ~300 MB. Not `--optimize-for-size`, which keeps about as little but
 * puts the collector in its memory-reducing mode: it cost the services 40–70 % more CPU per decision and
 * the sustained rate (docs/benchmarks.md).
 */
const HEAP_GROWING_FLAG = '--heap-growing-percent=10';
const SEMI_SPACE_MB = 2;

/**
 * Compliance holds a batch of up to 64 events (sealed, canonicalised, hashed) through its audit writes, so with
 * 2 MB semi-spaces much of it outlived two scavenges and was promoted: collection took 30 % of its busy time.
 * With 4 MB it took 17–18 % of a core at 60–80/s instead of 20–21 %, at the same peak RSS, which loading pdfkit
 * only for evidence packages (7 MB) pays for (docs/benchmarks.md).
 */
const SEMI_SPACE_MB_OF: Partial<Record<ServiceName, number>> = { compliance: 4 };

/**
 * The services whose peak RSS comes nearest 150 MB also run without V8's Maglev compiler: 10–15 MB less under
 * load for ~10 % more of their CPU (Turbofan still optimises hot code; docs/benchmarks.md). The
 * container image asks `serviceNodeFlags` too (deploy/Dockerfile).
 */
const WITHOUT_MAGLEV: ReadonlySet<ServiceName> = new Set(['intake', 'compliance', 'learning']);

/**
 * A service's Node flags; `AGF_SERVICE_NODE_FLAGS_<SERVICE>` (e.g. `AGF_SERVICE_NODE_FLAGS_COMPLIANCE`) replaces
 * them for one service, `AGF_SERVICE_NODE_FLAGS` for every other (empty: V8 defaults).
 */
export function serviceNodeFlags(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string[] {
  const flags = env[`AGF_SERVICE_NODE_FLAGS_${service.toUpperCase()}`] ?? env['AGF_SERVICE_NODE_FLAGS'] ?? defaultNodeFlags(service);
  return flags.split(/\s+/).filter(Boolean);
}

function defaultNodeFlags(service: ServiceName): string {
  const semiSpace = `--max-semi-space-size=${SEMI_SPACE_MB_OF[service] ?? SEMI_SPACE_MB}`;
  return `${semiSpace} ${HEAP_GROWING_FLAG}${WITHOUT_MAGLEV.has(service) ? ' --no-maglev' : ''}`;
}

/**
 * Environment every service process starts with, unless its caller sets the same names (npm start, tests,
 * benchmarks; the container image sets them in deploy/Dockerfile). glibc gives each thread that allocates a
 * malloc arena of its own, and a service's threads do: libuv's pool verifies the pipeline's RS256 tokens, V8's
 * helpers compile and collect. Two arenas took 6–12 MB off the peak RSS of intake and compliance at 80/s
 * (docs/benchmarks.md) at no cost in CPU that the bench could tell from its noise.
 */
export const SERVICE_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

export function serviceProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...SERVICE_PROCESS_ENV, ...env };
}
