import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The `agf submit` flags issue 25 specifies for the CLI (docs/cli.md documents them once the CLI lands). */
const SUBMIT_FLAGS = ['--project', '--component', '--version', '--wait', '--timeout', '--json', '--base', '--from'];

/** Every `agf … submit …` invocation in a script, and the flags it passes. */
function invocations(script: string): string[][] {
  return [...script.matchAll(/npx --yes "agf@[^"]+" (submit[^\n]*)/g)].map((m) => m[1]!.match(/--[a-z-]+/g) ?? []);
}

describe('CI templates (they cannot run here: these checks keep them in step with the CLI)', () => {
  it('the GitHub action is a composite action with the documented inputs and outputs, calling agf submit --wait', () => {
    const action = parse(read('integrations/github/action.yml')) as {
      runs: { using: string; steps: Array<{ run: string; env: Record<string, string> }> };
      inputs: Record<string, { description: string }>;
      outputs: Record<string, { value: string }>;
    };
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(['url', 'token', 'project', 'component', 'version', 'timeout', 'base', 'from']));
    for (const input of Object.values(action.inputs)) expect(input.description.length).toBeGreaterThan(10);
    expect(Object.keys(action.outputs)).toEqual(expect.arrayContaining(['request-id', 'outcome', 'conditions']));
    const script = action.runs.steps[0]!.run;
    expect(script).toContain('submit');
    const flags = new Set([...script.matchAll(/--[a-z-]+/g)].map((m) => m[0]).filter((flag) => flag !== '--yes'));
    for (const flag of flags) expect(SUBMIT_FLAGS).toContain(flag);
    expect([...flags]).toEqual(expect.arrayContaining(['--wait', '--project', '--component', '--version', '--timeout']));
    // Every exit code the CLI documents is handled.
    for (const code of ['0)', '1)', '2)', '3)', '4)']) expect(script).toContain(code);
  });

  it('the example workflow uses the action with its required inputs', () => {
    const workflow = parse(read('integrations/github/example-workflow.yml')) as { jobs: { gate: { steps: Array<{ uses?: string; with?: Record<string, string> }> } } };
    const step = workflow.jobs.gate.steps.find((s) => s.uses?.includes('integrations/github'))!;
    expect(Object.keys(step.with!)).toEqual(expect.arrayContaining(['url', 'token', 'project', 'component']));
  });

  it('the GitLab template is a hidden job running agf submit --wait with known flags', () => {
    const template = parse(read('integrations/gitlab/agf.gitlab-ci.yml')) as Record<string, { script: string[]; image: string }>;
    const job = template['.agf-gate']!;
    expect(job.image).toMatch(/^node:24/);
    const calls = invocations(job.script.join('\n'));
    expect(calls).toHaveLength(1);
    for (const flag of calls[0]!) expect(SUBMIT_FLAGS).toContain(flag);
    expect(calls[0]).toContain('--wait');
  });

  it('the Jenkins step runs agf submit --wait, fails on a block and handles undecided per its parameter', () => {
    const step = read('integrations/jenkins/vars/agfGate.groovy');
    const calls = invocations(step);
    expect(calls).toHaveLength(1);
    for (const flag of calls[0]!) expect(SUBMIT_FLAGS).toContain(flag);
    expect(step).toMatch(/case 1:\s*\n\s*error\(/);
    expect(step).toContain("unstable('AGF has not decided");
  });

  it('uses only flags docs/cli.md documents, once the CLI is there', () => {
    if (!existsSync(join(ROOT, 'docs', 'cli.md'))) return; // the cli lane's document; checked after the merge
    const cli = read('docs/cli.md');
    for (const flag of SUBMIT_FLAGS) expect(cli).toContain(flag);
  });
});
