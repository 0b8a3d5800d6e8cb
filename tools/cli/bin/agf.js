#!/usr/bin/env node
// The `agf` bin: runs the built CLI (dist/) with Node 24 (the repository's `node` package when the calling node
// is older), building it first on a fresh clone.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const entry = join(root, 'dist', 'tools', 'cli', 'src', 'main.js');
const bundledNode = join(root, 'node_modules', 'node', 'bin', 'node');
const node = Number(process.versions.node.split('.')[0]) >= 24 || !existsSync(bundledNode) ? process.execPath : bundledNode;

if (!existsSync(entry)) {
  process.stderr.write('agf: building the CLI (first run)…\n');
  const swc = join(root, 'node_modules', '@swc', 'cli', 'bin', 'swc.js');
  const built = spawnSync(node, [swc, 'apps', 'libs', 'tools', '-d', 'dist', '-q'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) process.exit(3);
}
const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? (result.signal ? 128 : 4));
