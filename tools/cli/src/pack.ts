import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * `npm run cli:pack`: the `agf` CLI as its own npm package (`agf-cli-<version>.tgz` in dist/), for pipelines that
 * do not check out this repository: `npm install -g ./agf-cli-0.1.0.tgz`, or publish it. It holds the built CLI
 * and exactly the built files it requires (found by following its `require`s from the entry points), with the
 * npm packages they require as dependencies at the versions of this repository's package.json.
 */
const ROOT = resolve(__dirname, '..', '..', '..', '..');
const DIST = join(ROOT, 'dist');
// The operator tools the CLI runs as child processes (`agf dlq`, `agf audit verify --database-url`) reach NATS and
// Postgres directly and stay in the repository; the package is what a pipeline needs.
const ENTRIES = ['tools/cli/src/main.js'];
const REQUIRE = /require\("([^"]+)"\)/g;

function closure(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = ENTRIES.map((entry) => join(DIST, entry));
  while (pending.length) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is missing: run npm run build first`);
    files.add(file);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(REQUIRE)) {
      if (target!.startsWith('.')) {
        pending.push(resolveBuilt(resolve(dirname(file), target!)));
      } else if (!target!.startsWith('node:') && !builtinModules.includes(target!)) {
        packages.add(target!.startsWith('@') ? target!.split('/').slice(0, 2).join('/') : target!.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

function resolveBuilt(path: string): string {
  const found = [path, `${path}.js`, join(path, 'index.js')].find((candidate) => candidate.endsWith('.js') && existsSync(candidate) && statSync(candidate).isFile());
  if (!found) throw new Error(`cannot resolve ${relative(ROOT, path)}`);
  return found;
}

function main(): void {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const { files, packages } = closure();
  const stage = join(DIST, 'cli-package');
  rmSync(stage, { recursive: true, force: true });
  for (const file of files) {
    const target = join(stage, 'dist', relative(DIST, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  const dependencies = Object.fromEntries(
    [...packages].sort().map((name) => {
      const version = root.dependencies[name] ?? root.devDependencies[name];
      if (!version) throw new Error(`the CLI requires ${name}, which package.json does not list`);
      return [name, version];
    }),
  );
  mkdirSync(join(stage, 'bin'), { recursive: true });
  writeFileSync(join(stage, 'bin', 'agf.js'), "#!/usr/bin/env node\n'use strict';\nrequire('../dist/tools/cli/src/main.js');\n");
  chmodSync(join(stage, 'bin', 'agf.js'), 0o755);
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify(
      {
        name: 'agf-cli',
        version: root.version,
        description: 'The agf CLI: gate a deployment on AGF from any pipeline (docs/cli.md)',
        license: 'UNLICENSED',
        engines: { node: '>=24' },
        bin: { agf: 'bin/agf.js' },
        files: ['bin', 'dist', 'agf-config.yaml'],
        dependencies,
      },
      null,
      2,
    )}\n`,
  );
  copyFileSync(join(ROOT, 'docs', 'cli.md'), join(stage, 'README.md'));
  // `agf init` writes the repository's own annotated agf-config.yaml.
  copyFileSync(join(ROOT, 'agf-config.yaml'), join(stage, 'agf-config.yaml'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', DIST], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop()!;
  process.stdout.write(`${JSON.stringify({ tarball: join(DIST, tarball), files: files.size, dependencies })}\n`);
}

main();
