import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_ROLES, PLATFORM_BUS_ROLE, repositoryRoot, SERVICE_PORTS, type ServiceName } from '@agf/platform';

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
    const sources = sourcesOf(join(ROOT, 'apps', service, 'src'));
    const handled = new Set(sources.flatMap((source) => [...source.matchAll(/@OnMessage\('([a-z_.-]+)'\)/g)].map((m) => m[1]!)));
    // A service run by runService also has the platform's own handlers.
    if (sources.some((source) => source.includes('runService('))) for (const name of PLATFORM_BUS_ROLE.consumes) handled.add(name);
    expect([...BUS_ROLES[service].consumes].sort()).toEqual([...handled].sort());
  });
  it('has the platform handlers runService adds, and only those', () => {
    const platform = new Set(sourcesOf(join(ROOT, 'libs', 'platform', 'src')).flatMap((source) => [...source.matchAll(/@OnMessage\('([a-z_.-]+)'\)/g)].map((m) => m[1]!)));
    expect([...PLATFORM_BUS_ROLE.consumes].sort()).toEqual([...platform].sort());
  });
});
