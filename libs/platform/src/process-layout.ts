import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
 * docs/benchmarks.md. `AGF_SERVICE_NODE_FLAGS` replaces them (empty: V8 defaults).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = (process.env['AGF_SERVICE_NODE_FLAGS'] ?? '--max-semi-space-size=2 --optimize-for-size').split(/\s+/).filter(Boolean);
