import { randomUUID } from 'node:crypto';
import type { CloudEvent, DeploymentRequest, EventName, LearningModelUpdated, PayloadOf } from '@agf/contracts';
import { aDecision, aRiskAssessment } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, type TestPrincipal, testIdentity, TestNats } from '@agf/testing';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const PROJECT = 'learning-project';
const COMPONENT = 'payments';

type Captured = PayloadOf<'learning.pattern.captured'>;

/** Publishes risk's, CoE's and the pipeline's events into one namespace and reads what learning published. */
class LearningDriver {
  constructor(readonly nats: TestNats) {}

  publish<N extends EventName>(name: N, data: PayloadOf<N>, source: string): Promise<CloudEvent<N>> {
    return this.nats.publishEvent(name, data, { correlationId: (data as { requestId: string }).requestId, source });
  }

  request(requestId: string, indicators: DeploymentRequest['riskIndicators']): DeploymentRequest {
    const now = new Date().toISOString();
    return {
      requestId,
      projectId: PROJECT,
      componentName: COMPONENT,
      version: `1.0.${requestId.slice(0, 4)}`,
      changes: ['change a', 'change b'],
      riskIndicators: indicators,
      requester: 'dev',
      timestamp: now,
      metadata: {},
      receivedAt: now,
      receivedVia: 'http',
    };
  }

  async assessed(requestId: string, overallScore: number, indicators: DeploymentRequest['riskIndicators'] = {}): Promise<void> {
    await this.publish('risk.assessed', aRiskAssessment(this.request(requestId, indicators), { overallScore, historicalScore: 0 }), 'risk');
  }

  async decided(requestId: string, decidedAt = new Date().toISOString()): Promise<void> {
    await this.publish('decision.made', aDecision({ requestId, projectId: PROJECT, componentName: COMPONENT, decidedAt }), 'coe');
  }

  async outcome(requestId: string, status: 'succeeded' | 'failed' | 'rolled_back'): Promise<void> {
    await this.publish(
      'deployment.outcome',
      { requestId, projectId: PROJECT, componentName: COMPONENT, version: '1.0.0', status, reportedAt: new Date().toISOString() },
      'pipeline',
    );
  }

  async captured(requestId: string): Promise<Captured[]> {
    const messages = await this.nats.read('AGF_LEARNING');
    return messages
      .filter((m) => m.subject.startsWith('agf.v1.learning.pattern.captured.'))
      .map((m) => m.json<CloudEvent<'learning.pattern.captured'>>().data)
      .filter((data) => data.requestId === requestId);
  }

  async modelUpdates(requestId: string, kind?: 'decision' | 'outcome'): Promise<LearningModelUpdated[]> {
    const messages = await this.nats.read('AGF_LEARNING');
    return messages
      .filter((m) => m.subject.startsWith('agf.v1.learning.model.updated.'))
      .map((m) => m.json<CloudEvent<'learning.model.updated'>>().data)
      .filter((data) => data.cause.requestId === requestId && (!kind || data.cause.kind === kind));
  }
}

interface SimilarResponse {
  requestId: string;
  similar: { requestId: string; projectId: string; componentName: string; version: string | null; similarity: number; deploymentOutcome: string | null; decisionOutcome: string | null }[];
}

/** A submitter of the tests' project, unless the test says who asks. */
const SUBMITTER: TestPrincipal = { sub: 'ci-bot', roles: ['submitter'], projects: [PROJECT] };

describe('learning service (real NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let learning: ServiceProcess;
  let driver: LearningDriver;
  // Request A: risk, then a duplicated decision, then a rollback. Request B: outcome first, then decision, then risk.
  const requestA = randomUUID();
  const requestB = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    learning = await ServiceProcess.start('learning', { databaseUrl: db.url, namespace: nats.namespace.prefix });
    driver = new LearningDriver(nats);
  });

  /** `null`: without a credential. */
  const get = async (path: string, principal: TestPrincipal | null = SUBMITTER) =>
    fetch(`${learning.url}${path}`, principal ? { headers: await (await testIdentity()).headers(principal) } : {});

  afterAll(async () => {
    await learning?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('captures a pattern once even when decision.made arrives twice under two event ids', async () => {
    await driver.assessed(requestA, 0.6, { codeChanges: 400, filesChanged: 12, securitySensitive: true, testsPassed: true });
    const decidedAt = new Date().toISOString();
    await driver.decided(requestA, decidedAt);
    await driver.decided(requestA, decidedAt);

    const captured = await eventually(async () => {
      const found = await driver.captured(requestA);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(captured).toMatchObject({ projectId: PROJECT, componentName: COMPONENT, riskScore: 0.6, tierLevel: 1, decisionOutcome: 'PROCEED_WITH_MONITORING', deploymentOutcome: null });
    expect(captured.features['securitySensitive']).toBe(1);
    expect(captured.features['riskOverall']).toBeCloseTo(0.6);

    await sleep(1500);
    expect(await driver.captured(requestA)).toHaveLength(1);
    expect(await driver.modelUpdates(requestA, 'decision')).toHaveLength(1);
  });

  it('publishes the rollback as learning.model.updated with a higher revision; a later different report is ignored', async () => {
    const [decisionUpdate] = await eventually(async () => {
      const found = await driver.modelUpdates(requestA, 'decision');
      expect(found).toHaveLength(1);
      return found;
    });
    await driver.outcome(requestA, 'rolled_back');

    const update = await eventually(async () => {
      const found = await driver.modelUpdates(requestA, 'outcome');
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(update).toMatchObject({ projectId: PROJECT, componentName: COMPONENT, component: { deployments: 1, rollbacks: 1, failures: 0 }, project: { rollbacks: 1 } });
    expect(update.component.rollbackRate).toBe(1);
    expect(update.component.lastFailureAt).not.toBeNull();
    expect(update.revision).toBeGreaterThan(decisionUpdate!.revision);

    // First report wins: a contradicting report and a repeated one change nothing and publish nothing.
    await driver.outcome(requestA, 'succeeded');
    await driver.outcome(requestA, 'rolled_back');
    await sleep(1500);
    expect(await driver.modelUpdates(requestA, 'outcome')).toHaveLength(1);
    const rows = await db.query<{ deployment_outcome: string }>(`SELECT "deployment_outcome" FROM "learning"."patterns" WHERE "request_id" = $1`, [requestA]);
    expect(rows).toEqual([{ deployment_outcome: 'rolled_back' }]);
  });

  it('handles the outcome before the decision and the decision before the risk assessment', async () => {
    await driver.outcome(requestB, 'succeeded');
    const outcomeUpdate = await eventually(async () => {
      const found = await driver.modelUpdates(requestB, 'outcome');
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(outcomeUpdate.component).toMatchObject({ deployments: 2, rollbacks: 1 });

    await driver.decided(requestB);
    await sleep(1000);
    // No features yet, so nothing to capture.
    expect(await driver.captured(requestB)).toHaveLength(0);

    await driver.assessed(requestB, 0.5, { codeChanges: 350, filesChanged: 10, securitySensitive: true, testsPassed: true });
    const captured = await eventually(async () => {
      const found = await driver.captured(requestB);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(captured).toMatchObject({ deploymentOutcome: 'succeeded', riskScore: 0.5, decisionOutcome: 'PROCEED_WITH_MONITORING' });
    // The decision changed no history (the outcome already published it): nothing to publish.
    await sleep(1500);
    expect(await driver.modelUpdates(requestB, 'decision')).toHaveLength(0);
    const published = await db.query<{ revision: number; component_stats: { deployments: number } }>(
      `SELECT "revision", "component_stats" FROM "learning"."published_models" WHERE "project_id" = $1 AND "component_name" = $2`,
      [PROJECT, COMPONENT],
    );
    expect(published).toEqual([{ revision: outcomeUpdate.revision, component_stats: expect.objectContaining({ deployments: 2 }) }]);
  });

  it('lists the other request, with its outcome, as similar', async () => {
    const body = await eventually(async () => {
      const response = await get(`/v1/patterns/similar?requestId=${requestA}&limit=5`);
      expect(response.status).toBe(200);
      return (await response.json()) as SimilarResponse;
    });
    expect(body.requestId).toBe(requestA);
    expect(body.similar).toHaveLength(1);
    expect(body.similar[0]).toMatchObject({ requestId: requestB, projectId: PROJECT, componentName: COMPONENT, deploymentOutcome: 'succeeded', decisionOutcome: 'PROCEED_WITH_MONITORING' });
    expect(body.similar[0]!.version).toBe(`1.0.${requestB.slice(0, 4)}`);
    expect(body.similar[0]!.similarity).toBeGreaterThan(0.8);
    expect(body.similar[0]!.similarity).toBeLessThanOrEqual(1);

    const reverse = (await (await get(`/v1/patterns/similar?requestId=${requestB}`)).json()) as SimilarResponse;
    expect(reverse.similar.map((s) => [s.requestId, s.deploymentOutcome])).toEqual([[requestA, 'rolled_back']]);
  });

  it('answers only from the caller\'s projects: another project\'s patterns and history are not there for it', async () => {
    const OTHER = 'learning-other';
    const lookalike = randomUUID();
    await driver.publish(
      'risk.assessed',
      aRiskAssessment({ ...driver.request(lookalike, { codeChanges: 380, filesChanged: 11, securitySensitive: true, testsPassed: true }), projectId: OTHER }, { overallScore: 0.5, historicalScore: 0 }),
      'risk',
    );
    const auditor: TestPrincipal = { sub: 'auditor-ann', roles: ['auditor'] };
    // An auditor reads every project: the look-alike is among the similar requests.
    await eventually(async () => {
      const body = (await (await get(`/v1/patterns/similar?requestId=${requestA}`, auditor)).json()) as SimilarResponse;
      expect(body.similar.map((p) => p.requestId).sort()).toEqual([requestB, lookalike].sort());
    });
    // The project's submitter sees its own project's only.
    const own = (await (await get(`/v1/patterns/similar?requestId=${requestA}`)).json()) as SimilarResponse;
    expect(own.similar.map((p) => p.requestId)).toEqual([requestB]);
    // The other project's submitter asking about this project's request: as if it did not exist, and recorded.
    const stranger: TestPrincipal = { sub: 'other-bot', roles: ['submitter'], projects: [OTHER] };
    const hidden = await get(`/v1/patterns/similar?requestId=${requestA}`, stranger);
    expect(hidden.status).toBe(404);
    expect(((await hidden.json()) as { detail: string }).detail).toBe(`no features for request ${requestA} yet`);
    expect((await get(`/v1/history/${PROJECT}`, stranger)).status).toBe(404);
    expect((await get(`/v1/history/${OTHER}`, stranger)).status).toBe(200);
    expect((await get(`/v1/history/${PROJECT}`, auditor)).status).toBe(200);
    await eventually(async () => {
      const refused = (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
      expect(refused.filter((r) => r.actor?.subject === 'other-bot').map((r) => [r.code, r.target]).sort()).toEqual(
        [['not-visible', `GET /v1/history/${PROJECT}`], ['not-visible', `GET /v1/patterns/similar?requestId=${requestA}`]].sort(),
      );
    });
    // Neither a reviewer (who sees what is assigned to it, through intake) nor a caller without a credential.
    expect((await get(`/v1/history/${PROJECT}`, { sub: 'rev', roles: ['reviewer', 'admin'] })).status).toBe(403);
    expect((await get(`/v1/history/${PROJECT}`, null)).status).toBe(401);
  });

  it('serves the project and component history', async () => {
    const response = await get(`/v1/history/${PROJECT}?componentName=${COMPONENT}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      projectId: PROJECT,
      project: { deployments: 2, rollbacks: 1, rollbackRate: 0.5 },
      component: { deployments: 2, rollbacks: 1 },
    });
  });

  it.each([
    ['a requestId that is no UUID', 'requestId=not-a-uuid', 'requestId'],
    ['a missing requestId', '', 'requestId'],
    ['a limit of 0', `requestId=${randomUUID()}&limit=0`, 'limit'],
    ['a limit above 50', `requestId=${randomUUID()}&limit=51`, 'limit'],
    ['a limit that is no number', `requestId=${randomUUID()}&limit=ten`, 'limit'],
  ])('answers 400 problem+json for %s', async (_label, query, path) => {
    const response = await get(`/v1/patterns/similar?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { status: number; errors?: { path: string }[] };
    expect(problem.status).toBe(400);
    expect(JSON.stringify(problem)).toContain(path);
  });

  it('answers 404 for a request without features', async () => {
    const response = await get(`/v1/patterns/similar?requestId=${randomUUID()}`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  // Last: its pattern would otherwise show up among the similar ones above.
  it('publishes the decision of a component whose history was never published', async () => {
    const requestC = randomUUID();
    const ledger = { ...driver.request(requestC, { codeChanges: 20 }), componentName: 'ledger' };
    await driver.publish('risk.assessed', aRiskAssessment(ledger, { overallScore: 0.3, historicalScore: 0 }), 'risk');
    await driver.publish('decision.made', aDecision({ requestId: requestC, projectId: PROJECT, componentName: 'ledger' }), 'coe');
    const update = await eventually(async () => {
      const found = await driver.modelUpdates(requestC, 'decision');
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(update).toMatchObject({ componentName: 'ledger', component: { deployments: 0 }, project: { deployments: 2, rollbacks: 1 } });
  });

  // Last: its patterns would be similar to the requests of the tests above.
  it('captures each pattern of requests assessed and decided together (one batch) once', async () => {
    const requests = [randomUUID(), randomUUID(), randomUUID()];
    // Back to back, in both orders, so that they are likely to share the service's transactions.
    await Promise.all(
      requests.map((id, i) =>
        i % 2 ? driver.decided(id).then(() => driver.assessed(id, 0.3)) : driver.assessed(id, 0.3).then(() => driver.decided(id)),
      ),
    );
    for (const id of requests) await eventually(async () => expect(await driver.captured(id)).toHaveLength(1));
    await sleep(1000);
    for (const id of requests) expect(await driver.captured(id)).toHaveLength(1);
  });
});
