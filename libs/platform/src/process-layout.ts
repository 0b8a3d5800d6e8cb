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
 * the young generation for the machine's memory (tens of MB on a large host); 2 MB semi-spaces keep a
 * service near 150 MB RSS instead of ~210 MB idle and ~300 MB under load, for slightly more frequent
 * (and shorter) scavenges. Measured in docs/benchmarks.md. `AGF_SERVICE_NODE_FLAGS` replaces them (empty: V8 defaults).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = (process.env['AGF_SERVICE_NODE_FLAGS'] ?? '--max-semi-space-size=2').split(/\s+/).filter(Boolean);
