import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STREAM_NAMES } from '@agf/contracts';
import { repositoryRoot, SERVICE_PORTS } from '@agf/platform';
import { parse } from 'yaml';

const CHART = join(repositoryRoot(__dirname), 'deploy', 'helm', 'agf');

function helmBinary(): string | undefined {
  try {
    execFileSync('helm', ['version', '--short'], { stdio: 'pipe' });
    return 'helm';
  } catch {
    return undefined;
  }
}

describe('Helm chart deploy/helm/agf', () => {
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { services: Record<string, { port: number; streams: string[] }> };

  it('deploys every service AGF has, on its port', () => {
    const chart = Object.fromEntries(Object.entries(values.services).map(([name, svc]) => [name, svc.port]));
    expect(chart).toEqual(SERVICE_PORTS);
  });

  it('scales each service on streams that exist', () => {
    for (const svc of Object.values(values.services)) for (const stream of svc.streams) expect(STREAM_NAMES).toContain(stream);
  });

  const helm = helmBinary();
  const withHelm = helm ? it : it.skip;
  if (!helm) process.stdout.write('[helm] skipped: `helm lint` and `helm template` need the helm binary, which is not installed here\n');

  withHelm('passes helm lint, and renders with every optional part on (skipped where helm is not installed)', () => {
    execFileSync(helm!, ['lint', CHART, '--strict'], { stdio: 'pipe' });
    const rendered = execFileSync(
      helm!,
      ['template', 'agf', CHART, '--set', 'keda.enabled=true', '--set', 'serviceMonitor.enabled=true', '--set', 'image.digest=sha256:' + '0'.repeat(64)],
      { encoding: 'utf8' },
    );
    const kinds = rendered.match(/^kind: \w+/gm)?.map((line) => line.slice(6)) ?? [];
    for (const kind of ['Deployment', 'Service', 'ScaledObject', 'ServiceMonitor', 'NetworkPolicy', 'PodDisruptionBudget', 'ConfigMap', 'PersistentVolumeClaim']) expect(kinds).toContain(kind);
    expect(rendered).toContain('@sha256:');
  });
});
