import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cloudEventSchema, createEvent, OutcomeAccepted, ReviewAccepted, subjectFor } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { repositoryRoot } from '@agf/platform';
import { eventually, natsUrl } from '@agf/testing';
import { TestSystem } from './system';

jest.setTimeout(120_000);

/** One request of each kind through all six services, on real NATS JetStream and Postgres. */
describe('governance end to end', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start('agf-config.governance.yaml');
  });

  afterAll(async () => {
    await system?.stop();
  });

  const humansOf = async (id: string, count: number) =>
    eventually(async () => {
      const view = await system.view(id);
      const humans = view.assignments.filter((a) => a.expertKind === 'human' && a.status === 'pending');
      expect(humans.length).toBeGreaterThanOrEqual(count);
      // The classification travels on the same stream; wait for it too, since events are handled concurrently.
      expect(view.tierLevel).not.toBeNull();
      return humans;
    }, 20_000);

  it('decides PROCEED_STANDARD at once when no trigger fires', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({ projectId: 'docs-site', changes: ['docs/getting-started.md'], riskIndicators: { codeChanges: 4, filesChanged: 1, testsPassed: true, userImpact: 'low' } }),
    );
    const decision = await system.decision(id);
    expect(cloudEventSchema('decision.made').safeParse(decision).success).toBe(true);
    expect(decision.data).toMatchObject({ outcome: 'PROCEED_STANDARD', approved: true, triggers: [] });
    // CI's long-poll answers with the same decision.
    expect(await system.decisionOverHttp(id)).toEqual({ status: 200, decision: decision.data });
    // Intake's read model follows the events; a subscriber can see the decision a moment before it does.
    const view = await eventually(async () => {
      const v = await system.view(id);
      expect(v).toMatchObject({ status: 'decided', triggers: [], decision: { outcome: 'PROCEED_STANDARD' } });
      return v;
    });
    expect(view.riskAssessment?.overallScore).toBeLessThan(0.8);
  });

  it('approves a tier-0 request with automated validators only', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'autonomous-agent',
        changes: ['src/report/format.ts'],
        riskIndicators: { codeChanges: 10, filesChanged: 2, testsPassed: true, userImpact: 'low', completionPercentage: 100 },
        metadata: { completionMode: 'DOMINO' },
      }),
    );
    const decision = await system.decision(id);
    expect(decision.data).toMatchObject({ outcome: 'PROCEED_WITH_MONITORING', approved: true, tierLevel: 0 });
    expect(decision.data.triggers.map((t) => t.condition)).toContain('DOMINO_COMPLETE');
    expect(decision.data.expertReviews.length).toBeGreaterThan(0);
    expect(decision.data.expertReviews.every((r) => r.expertKind === 'automated' && r.decision === 'approve')).toBe(true);
    expect(decision.data.monitoringRequirements.length).toBeGreaterThan(0);
    expect(decision.data.rollbackPlan).not.toBeNull();
    expect(decision.data.confidence.calculationBasis).toHaveProperty('expertConsensus');
  });

  it('proceeds with a tier-1 request once a human approves it through the API', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'orders-api',
        changes: ['src/orders/schema.ts'],
        riskIndicators: { codeChanges: 60, filesChanged: 4, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
      }),
    );
    const humans = await humansOf(id, 1);
    const view = await system.view(id);
    expect(view.tierLevel).toBeGreaterThanOrEqual(1);
    expect(view.triggers?.map((t) => t.condition)).toContain('CROSS_PROJECT_IMPACT');
    for (const human of humans) {
      const response = await system.review(id, { assignmentId: human.id, expertId: human.expertId, decision: 'approve', comments: 'schema change is backwards compatible' });
      expect(response.status).toBe(202);
      expect(ReviewAccepted.parse(await response.json())).toEqual({ requestId: id, assignmentId: human.id, status: 'submitted' });
    }
    const decision = await system.decision(id);
    expect(decision.data).toMatchObject({ outcome: 'PROCEED_WITH_MONITORING', approved: true });
    const story = await eventually(async () => {
      const v = await system.view(id);
      expect(v.status).toBe('decided');
      return v;
    });
    expect(story.reviews.length).toBeGreaterThanOrEqual(humans.length);
  });

  it('blocks a tier-2 request a strategic reviewer rejects, with the feedback', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'core-platform',
        changes: ['src/auth/session.ts', 'src/crypto/keys.ts'],
        riskIndicators: { codeChanges: 900, filesChanged: 40, testsPassed: true, userImpact: 'critical', completionPercentage: 100, securitySensitive: true },
      }),
    );
    const humans = await humansOf(id, 2);
    expect((await system.view(id)).tierLevel).toBe(2);
    const [rejecter, ...others] = humans;
    expect((await system.review(id, { assignmentId: rejecter!.id, expertId: rejecter!.expertId, decision: 'reject', comments: 'session keys rotate without a migration path' })).status).toBe(202);
    for (const other of others) {
      await system.review(id, { assignmentId: other.id, expertId: other.expertId, decision: 'approve', comments: 'fine by me' });
    }
    const decision = await system.decision(id);
    expect(decision.data).toMatchObject({ outcome: 'BLOCK_WITH_FEEDBACK', approved: false, tierLevel: 2 });
    expect(decision.data.decisionRationale).toMatch(/session keys rotate/);
  });

  it('scores the next identical request higher after the previous one was rolled back', async () => {
    const input = aDeploymentRequestInput({ projectId: 'history-demo', componentName: 'pricing', changes: ['src/pricing/rules.ts'], riskIndicators: { codeChanges: 40, testsPassed: true, userImpact: 'low' } });
    const first = await system.submit(input);
    await system.decision(first);
    const before = await eventually(async () => {
      const assessment = (await system.view(first)).riskAssessment;
      expect(assessment).not.toBeNull();
      return assessment!;
    });
    const outcome = await fetch(`${system.intake}/v1/deployment-requests/${first}/outcome`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'rolled_back', details: { reason: 'error rate doubled' } }),
    });
    expect(outcome.status).toBe(202);
    expect(OutcomeAccepted.parse(await outcome.json())).toMatchObject({ requestId: first, status: 'rolled_back' });
    // learning → learning.model.updated → risk's replica: within seconds, the next identical request scores higher.
    const after = await eventually(async () => {
      const next = await system.submit({ ...input, version: `${input.version}-retry-${Date.now()}` });
      const assessment = await eventually(async () => {
        const view = await system.view(next);
        expect(view.riskAssessment).not.toBeNull();
        return view.riskAssessment!;
      }, 10_000);
      expect(assessment.historicalScore).toBeGreaterThan(before.historicalScore);
      return assessment;
    }, 20_000, 500);
    expect(after.overallScore).toBeGreaterThan(before.overallScore);
  });

  it('refuses review answers that do not belong with the CoE\'s codes, lists the ones the CoE rejected, and yields one decision for duplicate submissions', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'search-api',
        requester: 'alice',
        changes: ['src/index/ranking.ts'],
        riskIndicators: { codeChanges: 30, testsPassed: true, userImpact: 'medium', affectedProjects: ['web-frontend'] },
      }),
    );
    const humans = await humansOf(id, 1);
    const target = humans[0]!;
    const problemOf = async (response: Response) => ({ status: response.status, type: ((await response.json()) as { type: string }).type.split('/').pop() });
    const wrongExpert = await system.review(id, { assignmentId: target.id, expertId: 'someone_else', decision: 'approve', comments: '' });
    expect(await problemOf(wrongExpert)).toEqual({ status: 422, type: 'not-assigned-expert' });
    const requester = await system.review(id, { assignmentId: target.id, expertId: 'alice', decision: 'approve', comments: '' });
    // The assignee check comes first (acceptReview's order): alice is not the assignee either.
    expect(await problemOf(requester)).toEqual({ status: 422, type: 'not-assigned-expert' });
    const unknown = await system.review(id, { assignmentId: '00000000-0000-4000-8000-000000000000', expertId: target.expertId, decision: 'approve', comments: '' });
    expect(await problemOf(unknown)).toEqual({ status: 422, type: 'unknown-assignment' });

    // The same answer sent over NATS reaches the CoE, which rejects it; the request's view says so.
    const view = await system.view(id);
    await system.nats.publishEvent(
      'review.submit',
      { requestId: id, projectId: view.projectId, assignmentId: target.id, expertId: 'someone_else', decision: 'approve', comments: '', conditions: [], submittedAt: new Date().toISOString() },
      { correlationId: id, source: 'external-expert' },
    );
    const [rejected] = await eventually(async () => {
      const listed = (await system.view(id)).rejectedAnswers;
      expect(listed).toHaveLength(1);
      return listed;
    });
    expect(rejected).toMatchObject({ assignmentId: target.id, expertId: 'someone_else', code: 'not-assigned-expert' });

    // An answer that fails the schema reaches the CoE too, which says why; compliance does not dead-letter it.
    const invalid = createEvent({
      name: 'review.submit',
      source: 'external-expert',
      correlationId: id,
      data: { requestId: id, projectId: view.projectId, assignmentId: target.id, expertId: target.expertId, decision: 'maybe', comments: '', conditions: [], submittedAt: new Date().toISOString() } as never,
    });
    await system.nats.publish(subjectFor('review.submit', view.projectId), JSON.stringify(invalid), invalid.id);
    await eventually(async () => expect((await system.view(id)).rejectedAnswers.map((r) => r.code)).toEqual(['not-assigned-expert', 'invalid-answer']));
    expect((await system.view(id)).rejectedAnswers[1]!.reason).toMatch(/^invalid review.submit: data.decision/);
    // Compliance audits the rejection (and had the answer before it, on the same stream); it dead-letters nothing.
    const compliance = system.services.get('compliance')!.url;
    await eventually(async () => {
      const { entries } = (await (await fetch(`${compliance}/v1/audit/trail?requestId=${id}`)).json()) as { entries: { payload: { data: { code?: string } } }[] };
      expect(entries.filter((e) => e.payload.data.code === 'invalid-answer')).toHaveLength(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await system.nats.read('AGF_DLQ')).filter((m) => m.json<{ id?: string }>().id === invalid.id)).toEqual([]);

    const answers = await Promise.all(
      Array.from({ length: 4 }, () => system.review(id, { assignmentId: target.id, expertId: target.expertId, decision: 'approve', comments: 'ok' })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([202, 409, 409, 409]);
    for (const other of humans.slice(1)) await system.review(id, { assignmentId: other.id, expertId: other.expertId, decision: 'approve', comments: 'ok' });
    await system.decision(id);
    // Give a second decision every chance to appear before checking there is none.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await system.decisionsOf(id)).toHaveLength(1);
    const late = await system.review(id, { assignmentId: target.id, expertId: target.expertId, decision: 'approve', comments: 'late' });
    expect(await problemOf(late)).toEqual({ status: 409, type: 'already-decided' });
    // Refused over HTTP, so never sent: the view still lists only the answers the CoE rejected.
    expect((await system.view(id)).rejectedAnswers).toHaveLength(2);
  });

  it('keeps every event of these requests in an audit chain that verifies', async () => {
    const compliance = system.services.get('compliance')!.url;
    const result = await eventually(async () => {
      const verification = (await (await fetch(`${compliance}/v1/audit/verify`)).json()) as { valid: boolean; entries: number };
      const decisions = (await system.nats.read('AGF_DECISION')).length;
      expect(verification.valid).toBe(true);
      // At least the requests, assessments and decisions of the tests above are chained.
      expect(verification.entries).toBeGreaterThanOrEqual(decisions * 3);
      return verification;
    }, 20_000);
    expect(result.valid).toBe(true);
  });

  // `npm run demo` is a newcomer's first command after `npm start`: every scenario's decision must be printed.
  // (Its early stop when a tier-0 decision arrived before the next submission depends on timing; here the
  // decisions came late enough that the old demo passed too. Against `npm start` it printed 2 of 4, 3 runs of 3.)
  it('runs the demo against the system and prints one decision per scenario', async () => {
    const demo = join(repositoryRoot(__dirname), 'dist', 'tools', 'demo', 'src', 'main.js');
    const { stdout } = await promisify(execFile)(process.execPath, [demo], {
      env: { ...process.env, INTAKE_URL: system.intake, AGF_NAMESPACE: system.nats.namespace.prefix, NATS_URL: natsUrl() },
      timeout: 90_000,
    });
    const decisions = stdout.match(/^ {2}[A-Z_]+ \(tier \d/gm) ?? [];
    expect(decisions.sort()).toEqual(['  BLOCK_WITH_FEEDBACK (tier 2', '  PROCEED_STANDARD (tier 0', '  PROCEED_WITH_MONITORING (tier 0', '  PROCEED_WITH_MONITORING (tier 1']);
  });
});
