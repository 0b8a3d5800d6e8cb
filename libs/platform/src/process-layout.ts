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
 * grow well past what is live; 2 MB semi-spaces and `--optimize-for-size` keep a service at 130–150 MB RSS
 * under load instead of ~300 MB, for more frequent (and shorter) collections. Measured in
 * docs/benchmarks.md.
 */
const BASE_NODE_FLAGS = '--max-semi-space-size=2 --optimize-for-size';

/**
 * The services whose peak RSS came nearest 150 MB also run without V8's Maglev compiler: 10–15 MB less under
 * load for ~10 % more of their CPU (Turbofan still optimises hot code; docs/benchmarks.md). The
 * container image asks `serviceNodeFlags` too (deploy/Dockerfile).
 */
const WITHOUT_MAGLEV: ReadonlySet<ServiceName> = new Set(['intake', 'compliance']);

/** A service's Node flags; `AGF_SERVICE_NODE_FLAGS` replaces them for every service (empty: V8 defaults). */
export function serviceNodeFlags(service: ServiceName, env: NodeJS.ProcessEnv = process.env): string[] {
  const flags = env['AGF_SERVICE_NODE_FLAGS'] ?? `${BASE_NODE_FLAGS}${WITHOUT_MAGLEV.has(service) ? ' --no-maglev' : ''}`;
  return flags.split(/\s+/).filter(Boolean);
}
