import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_ROLES, repositoryRoot, SERVICE_PORTS, type ServiceName } from '@agf/platform';

const ROOT = repositoryRoot(__dirname);

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesOf(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}

/** The bus roles that NATS permissions and provisioning come from must say what the code does. */
describe('bus roles', () => {
  it.each(Object.keys(SERVICE_PORTS) as ServiceName[])('%s consumes exactly the messages it has @OnMessage handlers for', (service) => {
    const handled = new Set(sourcesOf(join(ROOT, 'apps', service, 'src')).flatMap((source) => [...source.matchAll(/@OnMessage\('([a-z_.]+)'\)/g)].map((m) => m[1]!)));
    expect([...BUS_ROLES[service].consumes].sort()).toEqual([...handled].sort());
  });
});
