import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '@agf/platform';
import { parse } from 'yaml';

const ROOT = repositoryRoot(__dirname);
const RULES = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const DASHBOARDS = join(ROOT, 'deploy', 'grafana');

function promtool(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'pipe' });
    return 'promtool';
  } catch {
    return undefined;
  }
}

/** Every `agf_…` metric AGF's code registers (the family names, as Prometheus exposes them). */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
        for (const match of readFileSync(join(dir, entry.name), 'utf8').matchAll(/'(agf_[a-z_]+)'/g)) names.add(match[1]!);
      }
    }
  };
  for (const dir of ['apps', 'libs']) walk(join(ROOT, dir));
  return names;
}

/** The AGF metric families an expression reads (histogram series map back to their family). */
function metricsIn(expression: string): string[] {
  return [...expression.matchAll(/\b(agf_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

describe('Prometheus alerts and Grafana dashboards', () => {
  const registered = registeredMetrics();
  const rules = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  const dashboards = readdirSync(DASHBOARDS).filter((name) => name.endsWith('.json'));

  it('alert only on metrics AGF exposes', () => {
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const metric of metricsIn(rule.expr)) expect({ alert: rule.alert, metric, registered: registered.has(metric) }).toEqual({ alert: rule.alert, metric, registered: true });
    }
  });

  it('chart only metrics AGF exposes, in valid dashboard JSON', () => {
    expect(dashboards.length).toBeGreaterThanOrEqual(2);
    for (const file of dashboards) {
      const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as { uid: string; panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
      expect(dashboard.uid).toMatch(/^agf-/);
      for (const panel of dashboard.panels) {
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          for (const metric of metricsIn(target.expr)) expect({ file, panel: panel.title, metric, registered: registered.has(metric) }).toEqual({ file, panel: panel.title, metric, registered: true });
        }
      }
    }
  });

  const tool = promtool();
  const withPromtool = tool ? it : it.skip;
  if (!tool) process.stdout.write('[prometheus] skipped: `promtool check rules` / `test rules` need promtool (Debian: apt-get install prometheus), which is not installed here\n');

  withPromtool('pass promtool check rules, and fire in promtool test rules as their unit tests expect (skipped without promtool)', () => {
    execFileSync(tool!, ['check', 'rules', RULES], { stdio: 'pipe' });
    execFileSync(tool!, ['test', 'rules', join(ROOT, 'deploy', 'prometheus', 'alerts.test.yml')], { stdio: 'pipe' });
  });
});
