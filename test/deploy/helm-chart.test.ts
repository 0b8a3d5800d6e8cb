import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

  it('opens and closes every template action block (a check that needs no helm)', () => {
    for (const file of readdirSync(join(CHART, 'templates')).filter((name) => /\.(yaml|tpl)$/.test(name))) {
      const template = readFileSync(join(CHART, 'templates', file), 'utf8');
      const opened = template.match(/\{\{-?\s*(if|range|with|define)\b/g)?.length ?? 0;
      const closed = template.match(/\{\{-?\s*end\b/g)?.length ?? 0;
      expect([file, closed]).toEqual([file, opened]);
    }
  });

  describe('the provisioning Job', () => {
    const job = readFileSync(join(CHART, 'templates', 'provision-job.yaml'), 'utf8');
    const provisioning = (parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { provisioning: Record<string, unknown> }).provisioning;

    it('runs as a Helm hook before every install and upgrade, labelled as the chart recommends', () => {
      expect(job).toMatch(/^kind: Job$/m);
      expect(job).toMatch(/helm\.sh\/hook: pre-install,pre-upgrade/);
      expect(job).toMatch(/helm\.sh\/hook-delete-policy: before-hook-creation,hook-succeeded/);
      expect(job.match(/include "agf\.labels" \. \| nindent \d+ \}\}\s+app\.kubernetes\.io\/component: provision/g)).toHaveLength(2);
      expect(provisioning).toMatchObject({ enabled: true, credentialsSecret: '', experts: [] });
    });

    it("migrates every service's schema with its database credentials, then provisions the bus with the provisioner's seed", () => {
      expect(job).toMatch(/- \{ name: AGF_RUN, value: migrations \}\s+\{\{- include "agf\.databaseEnv" \(dict "root" \$ "service" \$name\)/);
      expect(job).toMatch(/- dist\/tools\/bus\/src\/main\.js\s+- provision/);
      expect(job).toMatch(/\$nats := dict "root" \. "user" "provisioner" "seedSecret" \.Values\.provisioning\.credentialsSecret/);
      expect(readFileSync(join(CHART, 'templates', 'deployment.yaml'), 'utf8')).toMatch(/if \$\.Values\.provisioning\.enabled \}\}[^\n]*\n[^\n]*\n\s+- \{ name: AGF_BUS_PROVISIONING, value: external \}/);
    });
  });

  const helm = helmBinary();
  const withHelm = helm ? it : it.skip;
  if (!helm) process.stdout.write('[helm] skipped: `helm lint` and `helm template` need the helm binary, which is not installed here\n');

  withHelm('passes helm lint, and renders with every optional part on (skipped where helm is not installed)', () => {
    execFileSync(helm!, ['lint', CHART, '--strict'], { stdio: 'pipe' });
    const rendered = execFileSync(
      helm!,
      [
        'template', 'agf', CHART, '--set', 'keda.enabled=true', '--set', 'serviceMonitor.enabled=true', '--set', 'image.digest=sha256:' + '0'.repeat(64),
        '--set', 'nats.credentialsSecret=agf-nats-credentials', '--set', 'nats.tlsCaSecret=agf-nats-ca', '--set', 'provisioning.credentialsSecret=agf-nats-provisioner',
      ],
      { encoding: 'utf8' },
    );
    const kinds = rendered.match(/^kind: \w+/gm)?.map((line) => line.slice(6)) ?? [];
    for (const kind of ['Deployment', 'Service', 'ScaledObject', 'ServiceMonitor', 'NetworkPolicy', 'PodDisruptionBudget', 'ConfigMap', 'PersistentVolumeClaim', 'Job']) expect(kinds).toContain(kind);
    expect(rendered).toContain('@sha256:');
    expect(rendered).toContain('/etc/agf/nats-seed/seed.nk');
  });
});
