import { randomUUID } from 'node:crypto';
import {
  type AccessRefused,
  BreakGlassAccepted,
  type CloudEvent,
  DecisionMade,
  DeploymentRequestView,
  PendingDecision,
  type RefusalCode,
  type ReviewAssigned,
  ReviewInboxItem,
  ReviewInboxPage,
  type Role,
} from '@agf/contracts';
import { aDecision, aDeploymentRequestInput, aRiskAssessment } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, testIdentity, type TestIdentity } from '@agf/testing';

jest.setTimeout(90_000);

/**
 * The reviewer's side of intake (shipped agf-config.yaml: alice answers for security_expert_human, arjun for
 * architect_human, olivia for oversight_board_1): each reviewer's inbox, escalations and cancellations as the
 * read model shows them, answers to escalation steps and after-the-fact reviews, and break-glass. The CoE's
 * events are published by the test, as the CoE would; intake alone is under test.
 */
describe('intake: reviewer inbox, escalation and break-glass (real tokens, NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  let identity: TestIdentity;

  const headers = (sub: string, roles: Role[], projects: string[] = []) => identity.headers({ sub, roles, projects });
  const call = async (method: string, path: string, auth: Record<string, string> | undefined, body?: unknown) =>
    fetch(`${intake.url}${path}`, { method, headers: auth ?? { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const pipeline = () => headers('pipeline', ['submitter'], ['*']);
  const auditor = () => headers('auditor-ann', ['auditor']);
  const submit = async (projectId: string) => {
    const response = await call('POST', '/v1/deployment-requests', await pipeline(), { ...aDeploymentRequestInput({ projectId }), requester: undefined });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const view = async (id: string) => DeploymentRequestView.parse(await (await call('GET', `/v1/deployment-requests/${id}`, await auditor())).json());
  const inbox = async (auth: Record<string, string>, query = '') => {
    const response = await call('GET', `/v1/reviews${query}`, auth);
    expect(response.status).toBe(200);
    return ReviewInboxPage.parse(await response.json());
  };
  const assignment = (requestId: string, projectId: string, expertId: string, dueInMinutes: number, extra: Partial<ReviewAssigned> = {}): ReviewAssigned => {
    const now = Date.now();
    return {
      requestId,
      projectId,
      assignmentId: randomUUID(),
      expertId,
      expertType: expertId.startsWith('architect') ? 'architecture' : expertId.startsWith('oversight') ? 'human_oversight' : 'security',
      expertKind: 'human',
      role: expertId.startsWith('oversight') ? 'oversight' : 'standard',
      scope: ['auth changes'],
      tierLevel: 1,
      priority: 'normal',
      slaHours: 1,
      assignedAt: new Date(now).toISOString(),
      slaDueAt: new Date(now + dueInMinutes * 60_000).toISOString(),
      ...extra,
    };
  };
  const publishAssigned = async (a: ReviewAssigned) => nats.publishEvent('review.assigned', a, { correlationId: a.requestId, source: 'coe' });
  const refusals = async (): Promise<AccessRefused[]> => (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
  const refusedEventually = (code: RefusalCode, match: (r: AccessRefused) => boolean) =>
    eventually(async () => expect((await refusals()).filter((r) => r.code === code && match(r)).length).toBeGreaterThanOrEqual(1));
  const escalation = (requestId: string, projectId: string, assignmentId: string, level = 1) => ({
    requestId,
    projectId,
    componentName: 'checkout',
    version: '1.0.0',
    tierLevel: 1 as const,
    riskScore: 0.7,
    reason: 'missing-expert' as const,
    detail: 'no performance expert is available',
    level,
    expertType: 'human_oversight' as const,
    assignees: [{ assignmentId, expertId: 'oversight_board_1' }],
    dueAt: new Date(Date.now() + 30 * 60_000).toISOString(),
    escalatedAt: new Date().toISOString(),
  });
  const answer = (assignmentId: string, expertId: string) => ({ assignmentId, expertId, decision: 'approve', comments: 'fine by me' });

  beforeAll(async () => {
    identity = await testIdentity();
    db = await createTestDatabase();
    nats = await TestNats.connect();
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix });
  });

  afterAll(async () => {
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it("shows each reviewer only their own assignments, most urgent SLA first, page by page", async () => {
    const [first, second] = [await submit('inbox-a'), await submit('inbox-b')];
    const { request } = await view(first);
    await nats.publishEvent('risk.assessed', aRiskAssessment(request, { overallScore: 0.72, riskFactors: ['touches auth'] }), { correlationId: first, source: 'risk' });
    // Alice: three on two requests, due in 50, 10 and 30 minutes; one already overdue. Arjun: one.
    const alice = [assignment(first, 'inbox-a', 'security_expert_human', 50), assignment(second, 'inbox-b', 'security_expert_human', 10), assignment(first, 'inbox-a', 'security_expert_human', 30), assignment(second, 'inbox-b', 'security_expert_human', -5)];
    const arjun = assignment(first, 'inbox-a', 'architect_human', 20);
    for (const a of [...alice, arjun]) await publishAssigned(a);

    const aliceAuth = await headers('alice', ['reviewer']);
    const byDue = [...alice].sort((x, y) => x.slaDueAt.localeCompare(y.slaDueAt)).map((a) => a.assignmentId);
    await eventually(async () => expect((await inbox(aliceAuth)).items.map((i) => i.assignmentId)).toEqual(byDue));
    const arjunPage = await inbox(await headers('arjun', ['reviewer']), '?assignee=me&status=pending');
    expect(arjunPage).toEqual({ items: [expect.objectContaining({ assignmentId: arjun.assignmentId })], nextCursor: null });

    const [overdue, , , later] = (await inbox(aliceAuth)).items;
    expect(overdue!.timeLeftSeconds).toBeLessThan(-200);
    expect(later!.timeLeftSeconds).toBeGreaterThan(2900);
    const detailed = (await inbox(aliceAuth)).items.find((i) => i.requestId === first)!;
    expect(detailed).toMatchObject({
      projectId: 'inbox-a',
      requester: 'pipeline',
      risk: { overallScore: 0.72, riskFactors: ['touches auth'] },
      asked: { expertId: 'security_expert_human', expertType: 'security', role: 'standard', scope: ['auth changes'] },
      purpose: 'review',
      status: 'pending',
      requestStatus: 'in_review',
    });
    expect(detailed.changes.length).toBeGreaterThan(0);

    // Two by two: the pages together are the whole inbox, in order, each once.
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: ReviewInboxPage = await inbox(aliceAuth, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.items.map((i) => i.assignmentId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toEqual([byDue.slice(0, 2), byDue.slice(2, 4)]);

    // Answered, it leaves the pending inbox and stays in `all`, after the open ones.
    await nats.publishEvent(
      'review.completed',
      { requestId: first, projectId: 'inbox-a', assignmentId: alice[0]!.assignmentId, expertId: 'security_expert_human', expertType: 'security', expertKind: 'human', decision: 'approve', comments: 'ok', conditions: [], confidence: 0.9, completedAt: new Date().toISOString() },
      { correlationId: first, source: 'coe' },
    );
    await eventually(async () => expect((await inbox(aliceAuth)).items.map((i) => i.assignmentId)).toEqual(byDue.filter((id) => id !== alice[0]!.assignmentId)));
    const all = await inbox(aliceAuth, '?status=all');
    expect(all.items.map((i) => [i.assignmentId, i.status, i.timeLeftSeconds === null])).toEqual([
      ...byDue.filter((id) => id !== alice[0]!.assignmentId).map((id) => [id, 'pending', false]),
      [alice[0]!.assignmentId, 'completed', true],
    ]);

    // One item; an admin or auditor reads any expert's inbox.
    const one = await call('GET', `/v1/reviews/${alice[1]!.assignmentId}`, aliceAuth);
    expect(one.status).toBe(200);
    expect(ReviewInboxItem.parse(await one.json())).toMatchObject({ assignmentId: alice[1]!.assignmentId, requestId: second });
    expect((await inbox(await auditor(), '?assignee=architect_human')).items.map((i) => i.assignmentId)).toEqual([arjun.assignmentId]);
    expect((await inbox(await headers('root', ['admin'], ['*']), '?assignee=security_expert_human&limit=1')).items).toHaveLength(1);
  });

  it('answers bad queries with 400 naming each, and refuses and records 401, 403 and 404', async () => {
    const alice = await headers('alice', ['reviewer']);
    const bad = await call('GET', '/v1/reviews?status=done&limit=0&cursor=bogus!&assignee=a.b', alice);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path).sort()).toEqual(['assignee', 'cursor', 'limit', 'status']);
    expect((await call('GET', '/v1/reviews?limit=101', alice)).status).toBe(400);
    // A cursor is opaque: one made up is refused, not trusted.
    expect((await call('GET', `/v1/reviews?cursor=${Buffer.from('[2,"1","x"]').toString('base64url')}`, alice)).status).toBe(400);

    const anonymous = await call('GET', '/v1/reviews', undefined);
    expect(anonymous.status).toBe(401);
    expect((await call('GET', '/v1/reviews', await headers('pipeline-x', ['submitter'], ['*']))).status).toBe(403);
    // A reviewer reads only their own inbox.
    const snooping = await call('GET', '/v1/reviews?assignee=architect_human', alice);
    expect(snooping.status).toBe(403);

    const requestId = await submit('inbox-refusals');
    const arjuns = assignment(requestId, 'inbox-refusals', 'architect_human', 30);
    await publishAssigned(arjuns);
    await eventually(async () => expect((await call('GET', `/v1/reviews/${arjuns.assignmentId}`, await headers('arjun', ['reviewer']))).status).toBe(200));
    const notHers = await call('GET', `/v1/reviews/${arjuns.assignmentId}`, alice);
    const unknown = await call('GET', `/v1/reviews/${randomUUID()}`, alice);
    expect([notHers.status, unknown.status]).toEqual([404, 404]);
    expect(((await notHers.json()) as { type: string }).type).toEqual(((await unknown.json()) as { type: string }).type);

    await refusedEventually('unauthenticated', (r) => r.target === 'GET /v1/reviews');
    await refusedEventually('forbidden', (r) => r.actor?.subject === 'pipeline-x' && r.target === 'GET /v1/reviews');
    await refusedEventually('forbidden', (r) => r.actor?.subject === 'alice' && r.target === 'GET /v1/reviews?assignee=architect_human');
    await refusedEventually('not-visible', (r) => r.actor?.subject === 'alice' && r.target === `GET /v1/reviews/${arjuns.assignmentId}`);
  });

  it('projects cancellations and escalations, whatever their order and however often they come', async () => {
    const projectId = 'inbox-projection';
    const requestId = await submit(projectId);
    const cancelled = assignment(requestId, projectId, 'security_expert_human', 30);
    const oversightId = randomUUID();
    // The cancellation and the escalation come before the assignments they name; each twice, as a redelivery would.
    const cancellation = { requestId, projectId, assignmentId: cancelled.assignmentId, expertId: cancelled.expertId, reason: 'expert-unavailable' as const, cancelledAt: new Date().toISOString() };
    const escalated = escalation(requestId, projectId, oversightId);
    for (let i = 0; i < 2; i++) {
      await nats.publishEvent('review.cancelled', cancellation, { correlationId: requestId, source: 'coe' });
      await nats.publishEvent('decision.escalated', escalated, { correlationId: requestId, source: 'coe' });
    }
    await publishAssigned(cancelled);
    await publishAssigned({ ...assignment(requestId, projectId, 'oversight_board_1', 30), assignmentId: oversightId });
    const late = await nats.publishEvent('decision.escalated', { ...escalated, level: 1, detail: 'an older step, seen late', escalatedAt: new Date(Date.now() - 60_000).toISOString() }, { correlationId: requestId, source: 'coe' });

    await eventually(async () => expect(await db.query(`SELECT 1 FROM intake.inbox WHERE event_id = $1`, [late.id])).toHaveLength(1));
    const shown = await eventually(async () => {
      const v = await view(requestId);
      expect(v.assignments.map((a) => [a.id, a.status, a.purpose, a.cancellation?.reason ?? null]).sort()).toEqual(
        [
          [cancelled.assignmentId, 'cancelled', 'review', 'expert-unavailable'],
          [oversightId, 'pending', 'escalation', null],
        ].sort(),
      );
      return v;
    });
    expect(shown.status).toBe('in_review');
    expect(shown.decision).toBeNull();
    expect(shown.escalation).toEqual({ level: 1, reason: 'missing-expert', detail: escalated.detail, expertType: 'human_oversight', assignees: escalated.assignees, dueAt: escalated.dueAt, escalatedAt: escalated.escalatedAt });

    // Olivia sees the escalation step in her inbox, Alice no longer sees the cancelled one.
    const olivia = await headers('olivia', ['reviewer']);
    const step = (await inbox(olivia)).items.find((i) => i.assignmentId === oversightId);
    expect(step).toMatchObject({ purpose: 'escalation', escalation: { level: 1, reason: 'missing-expert' }, asked: { role: 'oversight' } });
    expect((await inbox(await headers('alice', ['reviewer']))).items.map((i) => i.assignmentId)).not.toContain(cancelled.assignmentId);
    expect((await inbox(await headers('alice', ['reviewer']), '?status=all')).items.find((i) => i.assignmentId === cancelled.assignmentId)).toMatchObject({
      status: 'cancelled',
      cancellation: { reason: 'expert-unavailable' },
      timeLeftSeconds: null,
    });
  });

  it('keeps a waiting pipeline at 202 while escalated, naming who decides by when, and answers 200 with the one decision', async () => {
    const projectId = 'inbox-long-poll';
    const requestId = await submit(projectId);
    const oversight = assignment(requestId, projectId, 'oversight_board_1', 30);
    const escalated = escalation(requestId, projectId, oversight.assignmentId);
    await publishAssigned(oversight);
    await nats.publishEvent('decision.escalated', escalated, { correlationId: requestId, source: 'coe' });
    const ci = await pipeline();
    await eventually(async () => expect((await view(requestId)).escalation).not.toBeNull());

    const waited = await call('GET', `/v1/deployment-requests/${requestId}/decision?waitSeconds=1`, ci);
    expect(waited.status).toBe(202);
    expect(PendingDecision.parse(await waited.json())).toEqual({ id: requestId, status: 'in_review', decision: null, escalation: expect.objectContaining({ level: 1, assignees: escalated.assignees, dueAt: escalated.dueAt }) });

    // The oversight reviewer's answer is taken (it is what decides the request).
    const olivia = await headers('olivia', ['reviewer']);
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, olivia, answer(oversight.assignmentId, 'oversight_board_1'))).status).toBe(202);

    const waiting = call('GET', `/v1/deployment-requests/${requestId}/decision?waitSeconds=20`, ci);
    const decision = aDecision({
      requestId,
      projectId,
      outcome: 'PROCEED_STANDARD',
      escalation: { reason: 'missing-expert', level: 1, escalatedAt: escalated.escalatedAt, resolvedByAssignmentId: oversight.assignmentId, resolvedByExpertId: 'oversight_board_1', justification: 'fine by me' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await nats.publishEvent('decision.made', decision, { correlationId: requestId, source: 'coe' });
    const decided = await waiting;
    expect(decided.status).toBe(200);
    expect(DecisionMade.parse(await decided.json())).toMatchObject({ requestId, outcome: 'PROCEED_STANDARD', escalation: { resolvedByExpertId: 'oversight_board_1' } });
  });

  it('takes a break-glass once from the emergency role (202, deployment.break_glass with the actor), refusing a second (409), a decided request (409), other roles (403) and other projects (404)', async () => {
    const projectId = 'inbox-break-glass';
    const requestId = await submit(projectId);
    const onCall = await headers('on-call', ['emergency'], [projectId]);
    const body = { justification: 'checkout is down for every customer; this is the fix' };

    const accepted = await call('POST', `/v1/deployment-requests/${requestId}/break-glass`, onCall, body);
    expect(accepted.status).toBe(202);
    const { breakGlassId } = BreakGlassAccepted.parse(await accepted.json());
    const [event] = await eventually(async () => {
      const found = (await nats.read('AGF_DEPLOYMENT', `agf.v1.deployment.break_glass.${projectId}`)).map((m) => m.json<CloudEvent<'deployment.break_glass'>>());
      expect(found).toHaveLength(1);
      return found;
    });
    expect(event).toMatchObject({ id: breakGlassId, source: 'agf/intake', subject: requestId, data: { requestId, projectId, justification: body.justification, actor: { subject: 'on-call', issuer: identity.issuer, channel: 'http' } } });
    // The read model shows it (intake projects its own event).
    await eventually(async () => expect((await view(requestId)).breakGlass).toEqual({ justification: body.justification, actor: event!.data.actor, requestedAt: event!.data.requestedAt }));

    const again = await call('POST', `/v1/deployment-requests/${requestId}/break-glass`, onCall, { justification: 'and once more, to be sure' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { type: string }).type).toMatch(/break-glass-requested/);
    // A second break-glass event for the request (a redelivery under another id) changes nothing either.
    const duplicate = await nats.publishEvent('deployment.break_glass', { ...event!.data, justification: 'a different story' }, { correlationId: requestId, source: 'intake' });
    await eventually(async () => expect(await db.query(`SELECT 1 FROM intake.inbox WHERE event_id = $1`, [duplicate.id])).toHaveLength(1));
    expect((await view(requestId)).breakGlass?.justification).toBe(body.justification);

    const decidedId = await submit(projectId);
    await nats.publishEvent('decision.made', aDecision({ requestId: decidedId, projectId }), { correlationId: decidedId, source: 'coe' });
    await eventually(async () => expect((await view(decidedId)).status).toBe('decided'));
    const late = await call('POST', `/v1/deployment-requests/${decidedId}/break-glass`, onCall, body);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { type: string }).type).toMatch(/already-decided/);

    const otherId = await submit('inbox-break-glass-other');
    expect((await call('POST', `/v1/deployment-requests/${otherId}/break-glass`, onCall, body)).status).toBe(404);
    expect((await call('POST', `/v1/deployment-requests/${randomUUID()}/break-glass`, onCall, body)).status).toBe(404);
    const submitter = await call('POST', `/v1/deployment-requests/${otherId}/break-glass`, await headers('pipeline-y', ['submitter', 'reviewer'], ['*']), body);
    expect(submitter.status).toBe(403);
    expect((await call('POST', `/v1/deployment-requests/${otherId}/break-glass`, undefined, body)).status).toBe(401);
    const tooShort = await call('POST', `/v1/deployment-requests/${otherId}/break-glass`, await headers('on-call', ['emergency'], ['*']), { justification: 'now' });
    expect(tooShort.status).toBe(400);

    await refusedEventually('forbidden', (r) => r.actor?.subject === 'pipeline-y' && r.target === `POST /v1/deployment-requests/${otherId}/break-glass`);
    await refusedEventually('not-visible', (r) => r.actor?.subject === 'on-call' && r.target === `POST /v1/deployment-requests/${otherId}/break-glass`);
    // Intake's one, and the test's duplicate: no refused attempt published anything.
    expect((await nats.read('AGF_DEPLOYMENT', `agf.v1.deployment.break_glass.>`)).length).toBe(2);
  });

  it('takes an answer to the review after the fact once decided, and refuses one to a cancelled assignment (409 assignment-closed)', async () => {
    const projectId = 'inbox-after-the-fact';
    const requestId = await submit(projectId);
    const open = assignment(requestId, projectId, 'security_expert_human', 30);
    await publishAssigned(open);
    const reviewId = randomUUID();
    const emergency = {
      justification: 'checkout is down',
      approvedBy: { subject: 'on-call', channel: 'http' as const },
      afterTheFactReview: { assignmentId: reviewId, expertId: 'oversight_board_1', slaDueAt: new Date(Date.now() + 3600_000).toISOString() },
    };
    await nats.publishEvent('decision.made', aDecision({ requestId, projectId, emergency }), { correlationId: requestId, source: 'coe' });
    await eventually(async () =>
      expect((await view(requestId)).assignments.map((a) => [a.id, a.status, a.purpose]).sort()).toEqual(
        [
          [open.assignmentId, 'cancelled', 'review'],
          [reviewId, 'pending', 'after-the-fact'],
        ].sort(),
      ),
    );
    const olivia = await headers('olivia', ['reviewer']);
    expect((await inbox(olivia)).items.find((i) => i.assignmentId === reviewId)).toMatchObject({ purpose: 'after-the-fact', emergency: { justification: 'checkout is down' }, requestStatus: 'decided' });
    expect((await call('POST', `/v1/deployment-requests/${requestId}/reviews`, olivia, answer(reviewId, 'oversight_board_1'))).status).toBe(202);

    const closed = await call('POST', `/v1/deployment-requests/${requestId}/reviews`, await headers('alice', ['reviewer']), answer(open.assignmentId, 'security_expert_human'));
    expect(closed.status).toBe(409);
    expect((await closed.json()) as { type: string; detail: string }).toMatchObject({ type: expect.stringMatching(/assignment-closed/), detail: expect.stringMatching(/cancelled \(decided\)/) });
  });
});
