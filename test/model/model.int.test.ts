import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CloudEvent, type DeploymentRequest, DeploymentRequestView, type RiskAssessed, SubmissionAccepted } from '@agf/contracts';
import { aDeploymentRequest } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, type TestPrincipal, testIdentity, TestNats } from '@agf/testing';

jest.setTimeout(600_000);

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'tools', 'cli', 'src', 'main.js');

/** The shared JIT data (../shared/data/jit next to the repository), when this machine has it. */
function jitDataDirectory(): string | undefined {
  const candidates = [process.env['AGF_JIT_DATA'], resolve(ROOT, '..', 'shared', 'data', 'jit'), '/work/shared/data/jit'];
  return candidates.find((dir): dir is string => Boolean(dir) && existsSync(join(dir!, 'zeng2021', 'gerrit.csv')));
}
const jitData = jitDataDirectory();
if (!jitData) console.warn('model.int.test: the shared JIT data is absent (set AGF_JIT_DATA): the history import and defect model tests are skipped');
const maybe = jitData ? describe : describe.skip;

const ADMIN: TestPrincipal = { sub: 'platform-admin', roles: ['admin'] };
const AUDITOR: TestPrincipal = { sub: 'auditor-ann', roles: ['auditor'] };
const E2E_PROJECT = `jit-e2e-${randomUUID().slice(0, 8)}`;
const IMPORT_PROJECT = `jit-import-${randomUUID().slice(0, 8)}`;
const BAD_PROJECT = `jit-bad-${randomUUID().slice(0, 8)}`;

interface ModelList {
  models: Array<{ version: string; passed: boolean; checkDetail: string; trainingRows: number; validationAuc: number | null }>;
}

maybe('history import and the learned defect model (real learning and risk services, NATS, Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let learning: ServiceProcess;
  let risk: ServiceProcess;
  let intake: ServiceProcess;
  let work: string;
  let gerritLines: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'agf-model-'));
    gerritLines = readFileSync(join(jitData!, 'zeng2021', 'gerrit.csv'), 'utf8').trimEnd().split('\n');
    db = await createTestDatabase();
    nats = await TestNats.connect();
    const env = { AGF_MODEL_RETRAIN_DELAY_MS: '300' };
    [learning, risk, intake] = await Promise.all([
      ServiceProcess.start('learning', { databaseUrl: db.url, namespace: nats.namespace.prefix, env }),
      ServiceProcess.start('risk', { databaseUrl: db.url, namespace: nats.namespace.prefix }),
      ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([learning?.stop(), risk?.stop(), intake?.stop()]);
    await nats?.cleanup();
    await db?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const headers = async (principal: TestPrincipal) => (await testIdentity()).headers(principal);

  /** `agf history import` against the learning service, as an operator runs it. */
  async function cliImport(file: string, project: string, principal: TestPrincipal = ADMIN) {
    const token = await (await testIdentity()).token(principal);
    // Asynchronously: this process serves the token issuer the service asks while the CLI waits.
    const child = spawn(process.execPath, [CLI, '--json', '--token', token, 'history', 'import', file, '--project', project, '--learning-url', learning.url]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((done) => child.once('close', done));
    return { status, body: JSON.parse(stdout.trim().split('\n').pop() || '{}') as Record<string, unknown>, stderr };
  }

  async function models(project: string): Promise<ModelList['models']> {
    const response = await fetch(`${learning.url}/v1/models?projectId=${project}`, { headers: await headers(AUDITOR) });
    expect(response.status).toBe(200);
    return ((await response.json()) as ModelList).models;
  }

  async function assessed(requestId: string): Promise<RiskAssessed> {
    return eventually(async () => {
      const messages = await nats.read('AGF_RISK', 'agf.v1.risk.assessed.>');
      const found = messages.map((m) => m.json<CloudEvent<'risk.assessed'>>().data).find((a) => a.requestId === requestId);
      expect(found).toBeDefined();
      return found!;
    }, 60_000);
  }

  /** A request carrying the change metrics of one gerrit row. */
  function requestWithMetrics(line: string, project = E2E_PROJECT): DeploymentRequest {
    const header = gerritLines[0]!.split(',');
    const cells = line.split(',');
    const value = (name: string) => Number(cells[header.indexOf(name)]);
    const metrics = { ns: value('ns'), nd: value('nd'), nf: value('nf'), entropy: value('entrophy'), la: value('la'), ld: value('ld'), lt: value('lt'), fix: value('fix'), ndev: value('ndev'), age: value('age'), nuc: value('nuc'), exp: value('exp'), rexp: value('rexp'), sexp: value('sexp') };
    const base = aDeploymentRequest({ projectId: project });
    return { ...base, riskIndicators: { ...base.riskIndicators, ...metrics, fix: metrics.fix === 1 } };
  }

  async function submit(request: DeploymentRequest): Promise<void> {
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
  }

  it('without a model the factor says so and stays neutral', async () => {
    const request = requestWithMetrics(gerritLines[10]!);
    await submit(request);
    const assessment = await assessed(request.requestId);
    expect(assessment.defectModel).toMatchObject({ status: 'no-model', version: null, probability: null, weight: 0 });
    expect(assessment.defectModel!.explanation).toMatch(/no defect model/);
    expect(assessment.riskFactors.some((f) => f.startsWith('defect model'))).toBe(false);
  });

  it('refuses an import without a credential (401) or without the admin role (403), records both refusals, and imports nothing', async () => {
    const file = join(work, 'tiny.csv');
    writeFileSync(file, `${gerritLines.slice(0, 3).join('\n')}\n`);
    const anonymous = await fetch(`${learning.url}/v1/history/import?projectId=${BAD_PROJECT}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: readFileSync(file) });
    expect(anonymous.status).toBe(401);
    const submitter = await cliImport(file, BAD_PROJECT, { sub: 'ci-bot', roles: ['submitter'], projects: [BAD_PROJECT] });
    expect(submitter.status).toBe(3);
    expect(submitter.stderr).toMatch(/403/);
    const wrongType = await fetch(`${learning.url}/v1/history/import?projectId=${BAD_PROJECT}`, { method: 'POST', headers: { ...(await headers(ADMIN)), 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    expect(await db.query(`SELECT 1 FROM "learning"."change_history" WHERE "project_id" = $1`, [BAD_PROJECT])).toHaveLength(0);
    const refusals = await eventually(async () => {
      const found = (await nats.read('AGF_SECURITY'))
        .map((m) => m.json<CloudEvent<'security.refused'>>().data)
        .filter((r) => r.service === 'learning' && r.target.includes('/v1/history/import'));
      expect(found.map((r) => r.code).sort()).toEqual(['forbidden', 'unauthenticated']);
      return found;
    });
    expect(refusals.find((r) => r.code === 'forbidden')?.actor?.subject).toBe('ci-bot');
  });

  it('imports a history with its change metrics; the next request carries a calibrated probability, its drivers and the model version', async () => {
    const file = join(work, 'e2e.csv');
    writeFileSync(file, `${gerritLines.slice(0, 3001).join('\n')}\n`);
    const imported = await cliImport(file, E2E_PROJECT);
    expect(imported.body).toMatchObject({ projectId: E2E_PROJECT, format: 'csv', rows: 3000, imported: 3000, duplicates: 0 });
    const model = await eventually(async () => {
      const found = (await models(E2E_PROJECT)).find((m) => m.passed);
      expect(found).toBeDefined();
      return found!;
    }, 180_000);
    expect(model.trainingRows).toBe(3000);
    expect(model.validationAuc).toBeGreaterThan(0.55);

    const large = gerritLines.slice(1).map((line) => ({ line, la: Number(line.split(',')[9]) })).sort((a, b) => b.la - a.la)[20]!.line;
    const request = requestWithMetrics(large);
    const assessment = await eventually(async () => {
      const candidate = { ...request, requestId: randomUUID() };
      await submit(candidate);
      const a = await assessed(candidate.requestId);
      expect(a.defectModel?.version).toBe(model.version);
      return a;
    }, 60_000);
    const factor = assessment.defectModel!;
    expect(factor).toMatchObject({ status: 'applied', scope: 'project', weight: 0.25 });
    expect(factor.probability).toBeGreaterThan(0);
    expect(factor.probability).toBeLessThan(1);
    expect(factor.accuracy).toBeCloseTo(model.validationAuc!, 3);
    expect(factor.drivers.length).toBeGreaterThan(0);
    expect(factor.explanation).toMatch(/chance of a defect-inducing change \(project model /);
    expect(assessment.riskFactors.some((f) => f.startsWith('defect model: '))).toBe(true);

    // The same change submitted through intake: its request view shows the factor and the model version.
    const submitted = await fetch(`${intake.url}/v1/deployment-requests`, {
      method: 'POST',
      headers: await headers({ sub: 'ci-bot', roles: ['submitter'], projects: [E2E_PROJECT] }),
      body: JSON.stringify({ projectId: E2E_PROJECT, componentName: 'api', version: '2.0.0', changes: ['src/a.ts'], riskIndicators: request.riskIndicators }),
    });
    expect(submitted.status).toBe(202);
    const { id } = SubmissionAccepted.parse(await submitted.json());
    const view = await eventually(async () => {
      const v = DeploymentRequestView.parse(await (await fetch(`${intake.url}/v1/deployment-requests/${id}`, { headers: await headers(AUDITOR) })).json());
      expect(v.riskAssessment?.defectModel).toBeDefined();
      return v;
    }, 60_000);
    expect(view.riskAssessment!.defectModel).toMatchObject({ status: 'applied', version: model.version, probability: factor.probability });

    const withoutMetrics = aDeploymentRequest({ projectId: E2E_PROJECT });
    await submit(withoutMetrics);
    expect((await assessed(withoutMetrics.requestId)).defectModel).toMatchObject({ status: 'no-metrics', weight: 0, version: model.version });
  });

  it('learns from reported outcomes: a new model version, trained with them, scores the next request', async () => {
    const before = (await models(E2E_PROJECT)).filter((m) => m.passed);
    const request = requestWithMetrics(gerritLines[3500]!);
    await submit(request);
    await assessed(request.requestId);
    // learning stores the request from risk.assessed; the outcome then joins the change history
    await eventually(async () => {
      const rows = await db.query(`SELECT 1 FROM "learning"."patterns" WHERE "request_id" = $1 AND "request" IS NOT NULL`, [request.requestId]);
      expect(rows).toHaveLength(1);
    });
    await nats.publishEvent(
      'deployment.outcome',
      { requestId: request.requestId, projectId: E2E_PROJECT, componentName: request.componentName, version: request.version, status: 'rolled_back', reportedAt: new Date().toISOString() },
      { correlationId: request.requestId, source: 'intake' },
    );
    const retrained = await eventually(async () => {
      const newest = (await models(E2E_PROJECT)).find((m) => m.passed);
      expect(newest?.trainingRows).toBe(3001);
      return newest!;
    }, 180_000);
    expect(retrained.version).not.toBe(before[0]!.version);
    const history = await db.query<{ label: number; source: string }>(`SELECT "label", "source" FROM "learning"."change_history" WHERE "change_key" = $1`, [`request:${request.requestId}`]);
    expect(history).toEqual([{ label: 1, source: 'outcome' }]);

    const next = await eventually(async () => {
      const candidate = { ...requestWithMetrics(gerritLines[3600]!), requestId: randomUUID() };
      await submit(candidate);
      const a = await assessed(candidate.requestId);
      expect(a.defectModel?.version).toBe(retrained.version);
      return a;
    }, 60_000);
    expect(next.defectModel?.status).toBe('applied');
    // with models loaded, risk stays inside its memory budget
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${risk.pid!}/status`, 'utf8'))?.[1]);
    expect(rssKb / 1024).toBeLessThan(150);
  });

  it("stays within 150 MB RSS with 1,000 projects' models stored, loading them on demand", async () => {
    const [published] = await db.query<{ model: unknown }>(`SELECT "model" FROM "learning"."risk_models" WHERE "project_id" = $1 AND "passed" ORDER BY "sequence" DESC LIMIT 1`, [E2E_PROJECT]);
    expect(published).toBeDefined();
    await db.query(
      `INSERT INTO "risk"."defect_models" ("scope", "sequence", "version", "model", "published_at")
       SELECT 'mem-' || g, 1, 'mem-' || g || '@1', $1::jsonb, now() FROM generate_series(1, 1000) g`,
      [JSON.stringify(published!.model)],
    );
    const requests = Array.from({ length: 200 }, (_, k) => requestWithMetrics(gerritLines[100 + k]!, `mem-${1 + ((k * 37) % 1000)}`));
    for (const request of requests) await submit(request);
    const ids = new Set(requests.map((r) => r.requestId));
    const scored = await eventually(async () => {
      const messages = await nats.read('AGF_RISK', 'agf.v1.risk.assessed.>');
      const found = messages.map((m) => m.json<CloudEvent<'risk.assessed'>>().data).filter((a) => ids.has(a.requestId));
      expect(found).toHaveLength(requests.length);
      return found;
    }, 120_000, 500);
    expect(scored.every((a) => a.defectModel?.status === 'applied' && a.defectModel.scope === 'project')).toBe(true);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${risk.pid!}/status`, 'utf8'))?.[1]);
    console.info(`risk RSS after scoring ${requests.length} requests of ${requests.length} projects (1,000 models stored): ${(rssKb / 1024).toFixed(0)} MB`);
    expect(rssKb / 1024).toBeLessThan(150);
  });

  it('reports bad rows of a shared file by line number and imports none of them', async () => {
    const lines = gerritLines.slice(0, 801);
    lines[3] = lines[3]!.replace(/,[0-9]+,[0-9]+,[0-9]+,/, ',-1,2,3,'); // a negative count
    lines[400] = lines[400]!.split(',').slice(0, 10).join(','); // too few fields
    const cells = lines[700]!.split(',');
    cells[3] = 'maybe'; // not an outcome
    lines[700] = cells.join(',');
    const file = join(work, 'bad.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const response = await fetch(`${learning.url}/v1/history/import?projectId=${BAD_PROJECT}`, { method: 'POST', headers: { ...(await headers(ADMIN)), 'content-type': 'text/csv' }, body: readFileSync(file) });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await response.json()) as { detail: string; errors: Array<{ path: string; message: string }> };
    expect(problem.detail).toMatch(/^3 bad row\(s\); nothing was imported/);
    expect(problem.errors.map((e) => e.path)).toEqual(['line 4', 'line 401', 'line 701']);
    expect(problem.errors[2]!.message).toMatch(/not an outcome/);
    expect(await db.query(`SELECT 1 FROM "learning"."change_history" WHERE "project_id" = $1`, [BAD_PROJECT])).toHaveLength(0);
  });

  it('streams a whole shared file (CSV, then the same rows as JSON Lines): a second import adds nothing', async () => {
    const file = join(jitData!, 'zeng2021', 'gerrit.csv');
    const first = await cliImport(file, IMPORT_PROJECT);
    expect(first.status).toBe(0);
    expect(first.body).toMatchObject({ rows: 14_927, imported: 14_927, duplicates: 0 });
    const again = await cliImport(file, IMPORT_PROJECT);
    expect(again.body).toMatchObject({ rows: 14_927, imported: 0, duplicates: 14_927 });

    const header = gerritLines[0]!.split(',');
    const jsonl = gerritLines.slice(1, 501).map((line) => {
      const cells = line.split(',');
      const record: Record<string, unknown> = Object.fromEntries(header.map((h, i) => [h, cells[i]]).filter(([h]) => h !== '' && h !== '__' && h !== 'bug'));
      record['outcome'] = cells[header.indexOf('bug')] === '1' ? 'defect-inducing' : 'clean';
      return JSON.stringify(record);
    });
    const jsonlFile = join(work, 'history.jsonl');
    writeFileSync(jsonlFile, `${jsonl.join('\n')}\n`);
    const asJsonl = await cliImport(jsonlFile, IMPORT_PROJECT);
    // same commit ids: already there
    expect(asJsonl.body).toMatchObject({ format: 'jsonl', rows: 500, imported: 0, duplicates: 500 });
    const counted = await db.query<{ n: number }>(`SELECT count(*)::int AS "n" FROM "learning"."change_history" WHERE "project_id" = $1`, [IMPORT_PROJECT]);
    expect(counted).toEqual([{ n: 14_927 }]);
  });
});
