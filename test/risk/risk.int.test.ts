import { randomUUID } from 'node:crypto';
import type { CloudEvent, DeploymentRequest, HistoryStats, RiskAssessed } from '@agf/contracts';
import { aDeploymentRequest } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, testIdentity, TestNats } from '@agf/testing';

jest.setTimeout(120_000);

function stats(deployments: number, rollbacks: number): HistoryStats {
  return {
    deployments,
    failures: 0,
    rollbacks,
    failureRate: deployments ? rollbacks / deployments : 0,
    rollbackRate: deployments ? rollbacks / deployments : 0,
    lastFailureAt: rollbacks ? new Date().toISOString() : null,
    recentIncidents: rollbacks,
  };
}

describe('risk service (real NATS and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let risk: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    risk = await ServiceProcess.start('risk', { databaseUrl: db.url, namespace: nats.namespace.prefix });
  });

  afterAll(async () => {
    await risk?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  async function assessments(requestId: string): Promise<CloudEvent<'risk.assessed'>['data'][]> {
    const messages = await nats.read('AGF_RISK', 'agf.v1.risk.assessed.>');
    return messages.map((m) => m.json<CloudEvent<'risk.assessed'>>().data).filter((a) => a.requestId === requestId);
  }

  async function assess(request: DeploymentRequest): Promise<CloudEvent<'risk.assessed'>['data']> {
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
    return eventually(async () => {
      const found = await assessments(request.requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    }, 20_000);
  }

  it('publishes the whole assessment with factors in plain words, once per request', async () => {
    const request = aDeploymentRequest({
      projectId: 'risk-factors',
      changes: ['src/auth/session.ts'],
      riskIndicators: { vulnerabilities: { critical: 2 }, userImpact: 'critical', codeChanges: 2500, filesChanged: 60, testsPassed: true },
    });
    const assessed = await assess(request);
    expect(assessed.riskFactors).toEqual(expect.arrayContaining(['2 critical vulnerabilities', 'critical user impact']));
    expect(assessed.overallScore).toBeGreaterThan(0.5);
    expect(assessed.request).toEqual(request);
    expect(assessed.historicalScore).toBe(0.5); // no history yet: neutral
    expect(assessed.analyzers.historical.confidence).toBeLessThan(0.5);

    // The same request published again under another event id is not scored twice.
    await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await assessments(request.requestId)).toHaveLength(1);

    const identity = await testIdentity();
    const submitter = await identity.headers({ sub: 'ci-bot', roles: ['submitter'], projects: [request.projectId] });
    const auditor = await identity.headers({ sub: 'auditor-ann', roles: ['auditor'] });
    for (const headers of [submitter, auditor]) {
      const response = await fetch(`${risk.url}/v1/assessments/${request.requestId}`, { headers });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ overallScore: assessed.overallScore, riskFactors: assessed.riskFactors });
    }
    const unknown = await fetch(`${risk.url}/v1/assessments/${randomUUID()}`, { headers: submitter });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${risk.url}/v1/assessments/not-a-uuid`, { headers: submitter });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);

    // Another project's submitter gets what an unknown id gets (no existence leak), and the refusal is recorded.
    const stranger = await fetch(`${risk.url}/v1/assessments/${request.requestId}`, { headers: await identity.headers({ sub: 'other-bot', roles: ['submitter'], projects: ['elsewhere'] }) });
    expect(stranger.status).toBe(404);
    const problem = (body: Record<string, unknown>) => ({ ...body, detail: String(body['detail']).replace(/[0-9a-f-]{36}/, '<id>'), instance: undefined });
    expect(problem((await stranger.json()) as Record<string, unknown>)).toEqual(problem((await unknown.json()) as Record<string, unknown>));
    await eventually(async () => {
      const refused = (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
      expect(refused).toEqual([expect.objectContaining({ service: 'risk', code: 'not-visible', target: `GET /v1/assessments/${request.requestId}`, actor: expect.objectContaining({ subject: 'other-bot' }) })]);
    });
    // A reviewer reads the assessment with the request assigned to it (through intake), not here.
    expect((await fetch(`${risk.url}/v1/assessments/${request.requestId}`, { headers: await identity.headers({ sub: 'rev', roles: ['reviewer'] }) })).status).toBe(403);
  });

  it('scores the next identical request higher after learning reports a rollback, and ignores stale updates', async () => {
    const base = { projectId: 'risk-history', componentName: 'billing', riskIndicators: { codeChanges: 50, userImpact: 'medium' as const, vulnerabilities: {} } };
    const before = await assess(aDeploymentRequest(base));
    const update = (revision: number, history: HistoryStats) => ({
      projectId: base.projectId,
      componentName: base.componentName,
      project: history,
      component: history,
      revision,
      cause: { requestId: before.requestId, kind: 'outcome' as const },
      updatedAt: new Date().toISOString(),
    });
    await nats.publishEvent('learning.model.updated', update(2, stats(1, 1)), { correlationId: before.requestId, source: 'learning' });
    // An older revision arriving late must not overwrite the newer history.
    await nats.publishEvent('learning.model.updated', update(1, stats(1, 0)), { correlationId: before.requestId, source: 'learning' });
    const after = await eventually(async () => {
      const again = await assess(aDeploymentRequest(base));
      expect(again.historicalScore).toBeGreaterThan(before.historicalScore);
      return again;
    }, 20_000, 500);
    expect(after.overallScore).toBeGreaterThan(before.overallScore);
    expect(after.riskFactors.join('\n')).toMatch(/1 rollback of this component/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const latest = await assess(aDeploymentRequest(base));
    expect(latest.historicalScore).toBe(after.historicalScore);
  });

  it('scores the requests of one batch together, each once and on the history of its own component', async () => {
    const projectId = `risk-batch-${randomUUID().slice(0, 8)}`;
    const requests = {
      risky: aDeploymentRequest({ projectId, componentName: 'payments' }),
      calm: aDeploymentRequest({ projectId, componentName: 'docs' }),
      riskyAgain: aDeploymentRequest({ projectId, componentName: 'payments' }),
    };
    // `payments` has a history of rollbacks, the project none; applied (a probe is scored on it) before the requests arrive.
    await nats.publishEvent(
      'learning.model.updated',
      { projectId, componentName: 'payments', project: stats(10, 0), component: stats(4, 4), revision: 1, cause: { requestId: requests.risky.requestId, kind: 'outcome' }, updatedAt: new Date().toISOString() },
      { correlationId: requests.risky.requestId, source: 'learning' },
    );
    await eventually(async () => {
      const probe = await assess(aDeploymentRequest({ projectId, componentName: 'payments' }));
      expect(probe.riskFactors.join('\n')).toMatch(/4 rollbacks of this component/);
    }, 20_000, 500);
    // Queued while the service is down, so that it takes them in one batch when it is back; `calm` twice,
    // under two event ids.
    await risk.stop();
    for (const request of [requests.risky, requests.calm, requests.riskyAgain, requests.calm]) {
      await nats.publishEvent('deployment.requested', request, { correlationId: request.requestId, source: 'intake' });
    }
    await risk.restart();
    const scored = await eventually(async () => {
      const found = await Promise.all(Object.values(requests).map((r) => assessments(r.requestId)));
      found.forEach((list) => expect(list).toHaveLength(1));
      return found.map((list) => list[0]!);
    }, 20_000);
    const [risky, calm, riskyAgain] = scored as [RiskAssessed, RiskAssessed, RiskAssessed];
    expect(risky.riskFactors.join('\n')).toMatch(/4 rollbacks of this component/);
    expect(riskyAgain.historicalScore).toBe(risky.historicalScore);
    expect(calm.historicalScore).toBeLessThan(risky.historicalScore);
    expect(calm.riskFactors.join('\n')).not.toMatch(/rollback/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await assessments(requests.calm.requestId)).toHaveLength(1);
  });
});
