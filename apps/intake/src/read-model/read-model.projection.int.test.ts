import { randomUUID } from 'node:crypto';
import { type ComplianceEvaluated, type DecisionEscalated, LIMITS, type ReviewAssigned, type ReviewClassified, type ReviewCompleted, type ReviewRejected, type SlaTimerFired } from '@agf/contracts';
import { aDecision, aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { createServiceTestDatabase, type ServiceTestDatabase } from '@agf/testing';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import { INTAKE_MIGRATIONS } from '../migrations';
import { RequestViewRepository, toRequestView } from '../requests/request-view.repository';
import { projectReadModelEvents, type ReadModelEvent } from './read-model.projection';

jest.setTimeout(120_000);

/**
 * The read model applies a batch set-based, one statement per kind of event. Whatever the interleaving of
 * the streams and however the consumer cuts it into batches, the rows must end as they do when every event
 * is applied on its own, in the same order (real Postgres, intake's own migrations).
 */
describe('intake read model projection', () => {
  let service: ServiceTestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    service = await createServiceTestDatabase('intake', INTAKE_MIGRATIONS);
    dataSource = service.dataSource;
  });

  afterAll(async () => {
    await service?.drop();
  });

  /** Each request's events, with the order constraints of their producers: an assignment before its answer and its timers. */
  const stories = buildStories();
  const events = stories.flatMap((s) => s.events);

  it('ends with the same rows whether events are applied one by one or in batches of any cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: events.length, maxLength: events.length }),
        fc.array(fc.boolean(), { minLength: events.length, maxLength: events.length }),
        async (priorities, cuts) => {
          const order = interleave(events, priorities, stories[0]!.events.length);
          await reset(stories.map((s) => s.requestId));
          for (const event of order) await dataSource.transaction((m) => projectReadModelEvents(m, [event.event]));
          const oneByOne = await snapshot();

          await reset(stories.map((s) => s.requestId));
          for (const batch of cut(order.map((o) => o.event), cuts)) await dataSource.transaction((m) => projectReadModelEvents(m, batch));
          expect(await snapshot()).toEqual(oneByOne);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shows the story of a request: assessed, assignments answered, reassigned and cancelled, decided', async () => {
    await reset(stories.map((s) => s.requestId));
    await dataSource.transaction((m) => projectReadModelEvents(m, events.map((e) => e.event)));
    const [first] = stories;
    const request = (await snapshot()).requests.find((r) => r.id === first!.requestId)!;
    expect(request).toMatchObject({ status: 'decided', status_rank: 3, escalation: { level: 1, reason: 'missing-expert' }, break_glass: { justification: 'prod is down, rolling the fix' } });
    expect((request.risk as { revision: number }).revision).toBe(2);
    expect((request.compliance as { passed: boolean }).passed).toBe(true);
    const assignments = (await snapshot()).assignments.filter((a) => a.request_id === first!.requestId);
    expect(assignments.map((a) => [a.purpose, a.status, a.cancel_reason]).sort()).toEqual([
      ['after-the-fact', 'pending', null],
      ['escalation', 'completed', null],
      ['review', 'cancelled', null],
      ['review', 'cancelled', 'expert-unavailable'],
      ['review', 'completed', null],
      ['review', 'reassigned', null],
    ]);
    const rejected = (await snapshot()).rejectedAnswers.filter((r) => r.request_id === first!.requestId);
    expect(rejected).toEqual([expect.objectContaining({ expert_id: 'mallory', code: 'not-assigned-expert' })]);
  });

  it('fills in an answer that arrived before its assignment (each event type has its own consumer) once the assignment comes', async () => {
    await reset(stories.map((s) => s.requestId));
    const [first] = stories;
    const assigned = first!.events.find((e) => e.event.name === 'review.assigned')!.event as Extract<ReadModelEvent, { name: 'review.assigned' }>;
    const answer = first!.events.find((e) => e.event.name === 'review.completed' && e.event.data.assignmentId === assigned.data.assignmentId);
    expect(answer).toBeDefined();
    await dataSource.transaction((m) => projectReadModelEvents(m, [answer!.event]));
    const repository = new RequestViewRepository(dataSource);
    const view = async () => {
      const row = (await repository.findRequest(first!.requestId))!;
      return toRequestView(row, await repository.findAssignments(first!.requestId), []);
    };
    // The answer shows as a review at once, but no assignment is shown until its role is known.
    expect((await view()).assignments).toEqual([]);
    expect((await view()).reviews.map((r) => r.assignmentId)).toEqual([assigned.data.assignmentId]);
    await dataSource.transaction((m) => projectReadModelEvents(m, [assigned]));
    expect((await view()).assignments).toEqual([expect.objectContaining({ id: assigned.data.assignmentId, role: 'standard', status: 'completed' })]);
  });

  it('keeps a rejected answer only for a request intake knows, and once however often it arrives', async () => {
    await reset(stories.map((s) => s.requestId));
    const known = rejection(stories[0]!.requestId);
    const unknown = rejection(randomUUID());
    await dataSource.transaction((m) => projectReadModelEvents(m, [known, unknown]));
    await dataSource.transaction((m) => projectReadModelEvents(m, [known]));
    expect((await snapshot()).rejectedAnswers.map((r) => r.event_id)).toEqual([known.eventId]);
  });

  it('shows the latest rejected answers of a request, oldest first, however many an expert sends', async () => {
    await reset(stories.map((s) => s.requestId));
    const requestId = stories[0]!.requestId;
    const minute = (n: number) => new Date(Date.UTC(2026, 10, 26, 13, n)).toISOString();
    const sent = Array.from({ length: LIMITS.rejectedAnswersShown + 5 }, (_, n) => rejection(requestId, { rejectedAt: minute(n), reason: `answer ${n}` }));
    await dataSource.transaction((m) => projectReadModelEvents(m, sent));
    const shown = await new RequestViewRepository(dataSource).findRejectedAnswers(requestId);
    expect(shown.map((r) => r.reason)).toEqual(sent.slice(5).map((r) => r.data.reason));
  });

  it('leaves a request decided in one step as its classification, answered assignment and decision applied one by one do', async () => {
    const request = aDeploymentRequest({ requestId: randomUUID(), projectId: 'p-one-step' });
    const { requestId, projectId } = request;
    const at = (seconds: number) => new Date(Date.UTC(2026, 10, 26, 12, 0, seconds)).toISOString();
    const assigned: ReviewAssigned = {
      requestId,
      projectId,
      assignmentId: randomUUID(),
      expertId: 'security-scanner',
      expertType: 'security',
      expertKind: 'automated',
      role: 'standard',
      scope: ['security'],
      tierLevel: 0,
      priority: 'normal',
      slaHours: 1,
      assignedAt: at(1),
      slaDueAt: at(59),
    };
    const answered: ReviewCompleted = { ...pick(assigned), decision: 'approve', comments: 'no findings', conditions: ['monitor errors'], confidence: 0.95, completedAt: at(1) };
    const classified: ReviewClassified = { requestId, projectId, governanceRequired: true, triggers: [{ condition: 'SECURITY_CHANGE', reason: 'touches authentication code' }], tierLevel: 0, tierReasons: ['low risk'], classifiedAt: at(1) };
    const decision = aDecision({ requestId, projectId, tierLevel: 0, decidedAt: at(1) });
    const assessed = aRiskAssessment(request, { revision: 1, overallScore: 0.2 });
    const told = (decidedInOneStep: boolean): ReadModelEvent[] => [
      { name: 'risk.assessed', data: assessed },
      { name: 'review.classified', data: classified },
      { name: 'review.assigned', data: assigned },
      { name: 'review.completed', data: answered },
      { name: 'decision.made', data: decision, ...(decidedInOneStep ? { decidedInOneStep } : {}) },
    ];
    const others = stories.map((s) => s.requestId);

    await reset([requestId, ...others]);
    await dataSource.transaction((m) => projectReadModelEvents(m, [...told(false), ...events.map((e) => e.event)]));
    const stepwise = await snapshot();

    await reset([requestId, ...others]);
    await dataSource.transaction((m) => projectReadModelEvents(m, [...told(true), ...events.map((e) => e.event)]));
    expect(await snapshot()).toEqual(stepwise);
    // Delivered again: nothing changes.
    await dataSource.transaction((m) => projectReadModelEvents(m, told(true)));
    expect(await snapshot()).toEqual(stepwise);
    expect(stepwise.requests.find((r) => r.id === requestId)).toMatchObject({ status: 'decided', classification: { tierLevel: 0 }, decision: { requestId } });
    expect(stepwise.assignments.filter((a) => a.request_id === requestId)).toEqual([expect.objectContaining({ status: 'completed', decision: 'approve', comments: 'no findings' })]);

    // With its evaluation: the request row is updated once for the assessment, evaluation and decision together.
    const evaluated: ComplianceEvaluated = { requestId, projectId, passed: true, pending: false, controls: [], basedOnAssignments: [assigned.assignmentId], evaluatedAt: at(2) };
    await reset([requestId]);
    const statements: string[] = [];
    await dataSource.transaction((m) =>
      projectReadModelEvents({ query: (sql: string, parameters?: unknown[]) => (statements.push(sql), m.query(sql, parameters)) }, [...told(true), { name: 'compliance.evaluated', data: evaluated }]),
    );
    expect(statements.filter((sql) => /^\s*UPDATE "intake"."requests"/.test(sql))).toHaveLength(1);
    // The row lock, that update, the answered assignment, the story.
    expect(statements).toHaveLength(4);
    expect((await snapshot()).requests).toEqual([
      expect.objectContaining({ id: requestId, status: 'decided', status_rank: 3, risk: expect.objectContaining({ revision: 1 }), compliance: expect.objectContaining({ passed: true }), decision: expect.objectContaining({ requestId }) }),
    ]);
  });

  async function reset(requestIds: string[]): Promise<void> {
    await dataSource.query(`TRUNCATE "intake"."requests", "intake"."assignments", "intake"."rejected_answers"`);
    for (const id of requestIds) {
      await dataSource.query(
        `INSERT INTO "intake"."requests" ("id", "project_id", "component_name", "version", "requester", "request") VALUES ($1, 'p', 'c', '1.0.0', 'dev', '{}')`,
        [id],
      );
    }
  }

  async function snapshot(): Promise<{ requests: Array<Record<string, unknown>>; assignments: Array<Record<string, unknown>>; rejectedAnswers: Array<Record<string, unknown>> }> {
    return {
      requests: await dataSource.query(
        `SELECT "id", "status", "status_rank", "risk", "classification", "compliance", "decision", "escalation", "break_glass" FROM "intake"."requests" ORDER BY "id"`,
      ),
      assignments: await dataSource.query(`SELECT * FROM "intake"."assignments" ORDER BY "id"`),
      rejectedAnswers: await dataSource.query(`SELECT * FROM "intake"."rejected_answers" ORDER BY "event_id"`),
    };
  }
});

interface Positioned {
  event: ReadModelEvent;
  /** Index of the event this one must follow, if any. */
  after?: number;
}

function buildStories(): Array<{ requestId: string; events: Positioned[] }> {
  return [0, 1, 2].map((n) => {
    const request = aDeploymentRequest({ requestId: randomUUID(), projectId: `p${n}` });
    const { requestId, projectId } = request;
    const at = (minutes: number) => new Date(Date.UTC(2026, 10, 26, 12, minutes)).toISOString();
    const assignment = (supersedes?: string): ReviewAssigned => ({
      requestId,
      projectId,
      assignmentId: randomUUID(),
      expertId: `expert-${n}`,
      expertType: 'security',
      expertKind: 'human',
      role: 'standard',
      scope: ['security'],
      tierLevel: 1,
      priority: 'normal',
      slaHours: 24,
      assignedAt: at(1),
      slaDueAt: at(50),
      ...(supersedes ? { supersedesAssignmentId: supersedes } : {}),
    });
    const answered = assignment();
    const breached = assignment();
    const replacement = assignment(breached.assignmentId);
    const completed: ReviewCompleted = {
      requestId,
      projectId,
      assignmentId: answered.assignmentId,
      expertId: answered.expertId,
      expertType: 'security',
      expertKind: 'human',
      decision: 'approve',
      comments: `fine ${n}`,
      conditions: ['monitor errors'],
      confidence: 0.9,
      completedAt: at(5),
    };
    const timer = (a: ReviewAssigned, fraction: number): SlaTimerFired => ({
      requestId,
      projectId,
      assignmentId: a.assignmentId,
      expertId: a.expertId,
      tierLevel: 1,
      assignedAt: a.assignedAt,
      slaDueAt: a.slaDueAt,
      dueAt: at(fraction === 1 ? 50 : 38),
      firedAt: at(fraction === 1 ? 51 : 39),
      fraction,
    });
    const classified: ReviewClassified = { requestId, projectId, governanceRequired: true, triggers: [], tierLevel: 1, tierReasons: [`story ${n}`], classifiedAt: at(1) };
    const evaluation = (passed: boolean, minute: number): ComplianceEvaluated => ({
      requestId,
      projectId,
      passed,
      pending: !passed,
      controls: [],
      basedOnAssignments: passed ? [answered.assignmentId] : [],
      evaluatedAt: at(minute),
    });
    // The human loop: an assignment cancelled because its expert went away (its cancellation may come first),
    // an escalation whose step answers, a break-glass approval and the review after the fact it asks for.
    const unavailable = assignment();
    const oversight: ReviewAssigned = { ...assignment(), expertId: `oversight-${n}`, expertType: 'human_oversight', role: 'oversight', scope: ['oversight'] };
    const afterTheFact: ReviewAssigned = { ...assignment(), expertId: `oversight-${n}`, expertType: 'human_oversight', role: 'oversight', assignedAt: at(20), slaDueAt: at(59) };
    const escalated: DecisionEscalated = {
      requestId,
      projectId,
      componentName: 'c',
      version: '1.0.0',
      tierLevel: 1,
      riskScore: 0.4,
      reason: 'missing-expert',
      detail: 'no performance expert',
      level: 1,
      expertType: 'human_oversight',
      assignees: [{ assignmentId: oversight.assignmentId, expertId: oversight.expertId }],
      dueAt: at(40),
      escalatedAt: at(3),
    };
    const emergency = {
      justification: 'prod is down, rolling the fix',
      approvedBy: { subject: 'on-call', channel: 'http' as const },
      afterTheFactReview: { assignmentId: afterTheFact.assignmentId, expertId: afterTheFact.expertId, slaDueAt: afterTheFact.slaDueAt },
    };
    const events: Positioned[] = [
      { event: { name: 'risk.assessed', data: aRiskAssessment(request, { revision: 1, overallScore: 0.3 }) } },
      { event: { name: 'risk.assessed', data: aRiskAssessment(request, { revision: 2, overallScore: 0.4 }) } },
      { event: { name: 'review.classified', data: classified } },
      { event: { name: 'review.assigned', data: answered } },
      { event: { name: 'review.assigned', data: breached } },
      { event: { name: 'review.completed', data: completed }, after: 3 },
      { event: { name: 'sla.warning', data: timer(breached, 0.75) }, after: 4 },
      { event: { name: 'sla.breached', data: timer(breached, 1) }, after: 4 },
      { event: { name: 'review.assigned', data: replacement }, after: 7 },
      { event: { name: 'compliance.evaluated', data: evaluation(false, 2) } },
      { event: { name: 'compliance.evaluated', data: evaluation(true, 6) } },
      { event: { name: 'decision.made', data: aDecision({ requestId, projectId, decisionRationale: 'first', decidedAt: at(20), emergency }) } },
      { event: { name: 'decision.made', data: aDecision({ requestId, projectId, decisionRationale: 'second' }) }, after: 11 },
      { event: rejection(requestId, { projectId, assignmentId: answered.assignmentId }), after: 3 },
      { event: { name: 'review.assigned', data: unavailable } },
      { event: { name: 'review.cancelled', data: { requestId, projectId, assignmentId: unavailable.assignmentId, expertId: unavailable.expertId, reason: 'expert-unavailable', cancelledAt: at(4) } } },
      { event: { name: 'decision.escalated', data: escalated } },
      { event: { name: 'review.assigned', data: oversight } },
      { event: { name: 'review.completed', data: { ...completed, assignmentId: oversight.assignmentId, expertId: oversight.expertId, expertType: 'human_oversight', completedAt: at(10) } } },
      { event: { name: 'review.assigned', data: afterTheFact } },
      { event: { name: 'deployment.break_glass', data: { requestId, projectId, justification: emergency.justification, actor: emergency.approvedBy, requestedAt: at(19) } } },
    ];
    return { requestId, events };
  });
}

/** A `review.rejected` as the CoE publishes it when someone other than the assignee answers. */
function rejection(requestId: string, data: Partial<ReviewRejected> = {}): Extract<ReadModelEvent, { name: 'review.rejected' }> {
  return {
    name: 'review.rejected',
    eventId: randomUUID(),
    data: {
      requestId,
      projectId: 'p',
      assignmentId: randomUUID(),
      expertId: 'mallory',
      code: 'not-assigned-expert',
      reason: 'the assignment belongs to expert-0',
      rejectedAt: new Date(Date.UTC(2026, 10, 26, 12, 7)).toISOString(),
      ...data,
    },
  };
}

/** Orders the events by their random priorities, keeping each after the one it must follow. */
function interleave(events: Positioned[], priorities: number[], storyLength: number): Positioned[] {
  const keyed = events.map((e, i) => ({ e, key: priorities[i]! }));
  // `after` indexes within the story.
  const storyStart = (i: number) => i - (i % storyLength);
  for (let i = 0; i < keyed.length; i++) {
    const after = keyed[i]!.e.after;
    if (after !== undefined) keyed[i]!.key = Math.max(keyed[i]!.key, keyed[storyStart(i) + after]!.key + 1e-9 * (i + 1));
  }
  return keyed.sort((a, b) => a.key - b.key).map((k) => k.e);
}

function cut<T>(items: T[], cuts: boolean[]): T[][] {
  const batches: T[][] = [[]];
  items.forEach((item, i) => {
    batches[batches.length - 1]!.push(item);
    if (cuts[i] && i < items.length - 1) batches.push([]);
  });
  return batches;
}

/** The assignment facts an answer repeats. */
function pick(a: ReviewAssigned): Pick<ReviewCompleted, 'requestId' | 'projectId' | 'assignmentId' | 'expertId' | 'expertType' | 'expertKind'> {
  return { requestId: a.requestId, projectId: a.projectId, assignmentId: a.assignmentId, expertId: a.expertId, expertType: a.expertType, expertKind: a.expertKind };
}
