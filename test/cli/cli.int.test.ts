import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyEntry } from '@agf/attestation-domain';
import { DecisionMade } from '@agf/contracts';
import { eventually, freePort } from '@agf/testing';
import { reviewerOf, TestSystem } from '../governance/system';
import { agf, gitRepository, run } from './agf';

jest.setTimeout(180_000);

/** The `agf` CLI against the whole running system, as a pipeline step uses it. */
describe('agf CLI', () => {
  let system: TestSystem;
  let repo: string;
  let env: Record<string, string>;
  const keyDir = mkdtempSync(join(tmpdir(), 'agf-attestation-'));

  beforeAll(async () => {
    // Intake generates its attestation key here at first start (the services inherit this environment).
    process.env['AGF_ATTESTATION_KEY_FILE'] = join(keyDir, 'attestation-key.pem');
    system = await TestSystem.start('agf-config.governance.yaml');
    repo = gitRepository([
      { author: 'ann', message: 'report: first version', files: { 'src/report/format.ts': 'export const a = 1;\n', 'README.md': '# demo\n' }, daysAgo: 30 },
      { author: 'bob', message: 'report: totals', files: { 'src/report/format.ts': 'export const a = 1;\nexport const b = 2;\n' }, daysAgo: 10 },
      { author: 'ann', message: 'fix rounding in the report', files: { 'src/report/format.ts': 'export const a = 1;\nexport const b = 3;\nexport const c = 4;\n', 'src/report/total.ts': 'export {};\n' } },
    ]);
    env = { AGF_URL: system.intake, AGF_TOKEN: await system.identity.token({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] }) };
  });

  afterAll(async () => {
    delete process.env['AGF_ATTESTATION_KEY_FILE'];
    await system?.stop();
  });

  it('builds the request from the git checkout: changed files and the change metrics', async () => {
    const result = await run(['submit', '--project', 'docs-site', '--component', 'api', '--version', '1.0.0', '--dry-run', '--json'], { cwd: repo, env });
    expect(result.code).toBe(0);
    const request = JSON.parse(result.stdout) as { changes: string[]; riskIndicators: Record<string, unknown>; metadata: { git: { author: string } } };
    // Against the previous commit (the checkout is on the default branch).
    expect(request.changes.sort()).toEqual(['src/report/format.ts', 'src/report/total.ts']);
    expect(request.riskIndicators).toMatchObject({ la: 3, ld: 1, nf: 2, ns: 1, nd: 1, codeChanges: 4, filesChanged: 2, fix: true, ndev: 2, nuc: 2, exp: 1, sexp: 1 });
    expect(request.riskIndicators['entropy']).toBeGreaterThan(0);
    expect(request.riskIndicators['age']).toBeGreaterThanOrEqual(9.9);
    expect(request.riskIndicators['lt']).toBe(1); // format.ts had 2 lines, total.ts is new
    expect(request.metadata.git.author).toBe('ann <ann@example.com>');
    // --base moves the comparison; a one-commit repository measures its whole commit.
    const fromFirst = JSON.parse((await run(['submit', '--project', 'docs-site', '--base', 'HEAD~2', '--dry-run', '--json'], { cwd: repo, env })).stdout) as typeof request;
    expect(fromFirst.riskIndicators).toMatchObject({ nf: 2, nuc: 1, ndev: 1 });
    const single = gitRepository([{ author: 'cat', message: 'initial', files: { 'a.txt': 'x\ny\n' } }]);
    expect(JSON.parse((await run(['submit', '--project', 'docs-site', '--dry-run', '--json'], { cwd: single, env })).stdout)).toMatchObject({ changes: ['a.txt'], riskIndicators: { la: 2, nf: 1 } });
  });

  it('exits 0 for a low-risk change, writes the decision, and its attestation verifies until tampered with', async () => {
    const waited = await run(['submit', '--project', 'docs-site', '--component', 'api', '--version', '1.0.0', '--tests-passed', '--user-impact', 'low', '--wait', '--timeout', '60s'], { cwd: repo, env });
    expect({ code: waited.code, err: waited.stderr }).toEqual({ code: 0, err: '' });
    expect(waited.stdout).toMatch(/submitted [0-9a-f-]{36}/);
    expect(waited.stdout).toMatch(/^\S+Z risk \d\.\d\d/m); // plain timestamped lines off a terminal
    expect(waited.stdout).toContain('decision: PROCEED');
    const decision = DecisionMade.parse(JSON.parse(readFileSync(join(repo, 'agf-decision.json'), 'utf8')));
    expect(decision).toMatchObject({ approved: true, componentName: 'api', version: '1.0.0' });

    const file = join(repo, 'attestation.json');
    await eventually(async () => expect((await run(['attestation', decision.requestId, '-o', file], { cwd: repo, env })).code).toBe(0));
    const verify = (args: string[]) => run(['verify', '--attestation', file, ...args], { cwd: repo, env });
    expect(await verify(['--artifact', 'api@1.0.0'])).toMatchObject({ code: 0, stdout: expect.stringContaining('valid: api@1.0.0 PROCEED') });
    expect(await verify(['--artifact', 'api@1.0.1'])).toMatchObject({ code: 1, stderr: expect.stringContaining('not api@1.0.1') });
    expect(await verify(['--artifact', 'web@1.0.0'])).toMatchObject({ code: 1 });

    // Signed by a key AGF never published.
    const otherKeys = join(repo, 'other-keys.json');
    writeFileSync(otherKeys, JSON.stringify({ keys: [publicKeyEntry(generateKeyPairSync('ed25519').privateKey, 'current')] }));
    expect(await verify(['--artifact', 'api@1.0.0', '--keys', otherKeys])).toMatchObject({ code: 1, stderr: expect.stringContaining('signature') });

    // One byte of the statement changed.
    const envelope = JSON.parse(readFileSync(file, 'utf8')) as { payload: string };
    const payload = Buffer.from(envelope.payload, 'base64');
    payload[payload.indexOf('PROCEED')] = 'Q'.charCodeAt(0);
    writeFileSync(file, JSON.stringify({ ...envelope, payload: payload.toString('base64') }));
    expect(await verify(['--artifact', 'api@1.0.0'])).toMatchObject({ code: 1, stderr: expect.stringContaining('signature') });
  });

  it('exits 1 with the feedback when the tests failed, however small the change', async () => {
    const result = await run(['submit', '--project', 'docs-site', '--component', 'api', '--version', '1.0.1', '--tests-failed', '--user-impact', 'low', '--wait', '--timeout', '60s'], { cwd: repo, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BLOCK_WITH_FEEDBACK');
    expect(result.stderr).toContain('failing tests');
    expect(JSON.parse(readFileSync(join(repo, 'agf-decision.json'), 'utf8'))).toMatchObject({ outcome: 'BLOCK_WITH_FEEDBACK', approved: false });
  });

  const tierOne = join(mkdtempSync(join(tmpdir(), 'agf-from-')), 'request.json');
  writeFileSync(tierOne, JSON.stringify({ riskIndicators: { codeChanges: 60, filesChanged: 4, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] } }));

  it('exits 2 when the decision has not come by --timeout', async () => {
    const result = await run(['submit', '--project', 'orders-api', '--component', 'orders', '--version', '2.0.0', '--from', tierOne, '--wait', '--timeout', '4s'], { cwd: repo, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('still undecided');
    expect(result.stdout).toMatch(/assigned \S+ \(\w+, human\), due /);
  });

  it('exits 3 on a bad token or bad usage, 4 when AGF is unreachable', async () => {
    expect(await run(['submit', '--project', 'docs-site', '--version', '1'], { cwd: repo, env: { ...env, AGF_TOKEN: 'agf_not-a-key' } })).toMatchObject({ code: 3, stderr: expect.stringContaining('401') });
    expect(await run(['submit', '--version', '1'], { cwd: repo, env })).toMatchObject({ code: 3, stderr: expect.stringContaining('projectId') });
    expect(await run(['wait', 'x', '--timeout', 'soon'], { cwd: repo, env })).toMatchObject({ code: 3 });
    const nobody = `http://127.0.0.1:${await freePort()}`;
    expect(await run(['submit', '--project', 'docs-site', '--version', '1'], { cwd: repo, env: { ...env, AGF_URL: nobody } })).toMatchObject({ code: 4, stderr: expect.stringContaining('unreachable') });
    expect(await run(['status', '00000000-0000-4000-8000-000000000000'], { cwd: repo, env: { ...env, AGF_URL: nobody } })).toMatchObject({ code: 4 });
  });

  it('--wait follows the request across a restart of intake, and the stream resumes with Last-Event-ID', async () => {
    const waiting = agf(['submit', '--project', 'orders-api', '--component', 'orders', '--version', '2.1.0', '--from', tierOne, '--wait', '--timeout', '120s', '--decision-file', 'restart-decision.json'], { cwd: repo, env });
    const id = await eventually(async () => {
      const match = /submitted ([0-9a-f-]{36})/.exec(waiting.output());
      expect(match).not.toBeNull();
      expect(waiting.output()).toMatch(/assigned \S+ \(\w+, human\)/);
      return match![1]!;
    }, 30_000);
    const intake = system.services.get('intake')!;
    await intake.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await intake.restart();
    const humans = (await system.view(id)).assignments.filter((a) => a.expertKind === 'human' && a.status === 'pending');
    expect(humans.length).toBeGreaterThan(0);
    for (const human of humans) {
      expect((await system.review(id, { assignmentId: human.id, expertId: human.expertId, decision: 'approve', comments: 'fine' }, reviewerOf(human.expertId))).status).toBe(202);
    }
    const result = await waiting.done;
    expect(result.stderr).toContain('reconnecting');
    expect(result.code).toBe(0);
    expect(existsSync(join(repo, 'restart-decision.json'))).toBe(true);
    // Every event came once, in order, across the reconnection.
    const assigned = [...result.stdout.matchAll(/assigned (\S+)/g)].map((m) => m[1]);
    expect(new Set(assigned).size).toBe(assigned.length);

    // The stream from the start, then from the middle: ids are the request's own sequence numbers.
    const headers = await system.auditor();
    const events = async (lastEventId?: string) => {
      const response = await fetch(`${system.intake}/v1/deployment-requests/${id}/events`, { headers: { ...headers, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } });
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      return [...(await response.text()).matchAll(/^id: (\d+)\nevent: (\S+)/gm)].map((m) => ({ id: Number(m[1]), type: m[2] }));
    };
    const all = await events();
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)!.type).toBe('decision.made');
    expect(all.map((e) => e.type)).toEqual(expect.arrayContaining(['risk.assessed', 'review.classified', 'review.assigned', 'review.completed']));
    expect(await events('3')).toEqual(all.slice(3));

    // Someone who may not see the request is told it does not exist; no credential is a 401.
    const stranger = await system.identity.headers({ sub: 'someone', roles: ['submitter'], projects: ['other-project'] });
    expect((await fetch(`${system.intake}/v1/deployment-requests/${id}/events`, { headers: stranger })).status).toBe(404);
    expect((await fetch(`${system.intake}/v1/deployment-requests/${id}/events`)).status).toBe(401);
    expect((await fetch(`${system.intake}/v1/deployment-requests/${id}/attestation`, { headers: stranger })).status).toBe(404);
  });
});
