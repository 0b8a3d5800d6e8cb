import { type CloudEvent, createEvent, subjectFor } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually } from '@agf/testing';
import { TestSystem } from './system';

jest.setTimeout(180_000);

/**
 * Issue 24, "Escalation that ends in a decision" and "Break-glass", against the real services. The registry
 * has no performance expert; an escalation step's SLA is a few seconds (agf-config.escalation.yaml).
 */
describe('escalation ends in a decision by a named person; break-glass approves at once', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start('agf-config.escalation.yaml');
  });

  afterAll(async () => {
    await system?.stop();
  });

  const eventsOf = async <N extends 'review.assigned' | 'review.cancelled' | 'review.completed' | 'decision.escalated' | 'compliance.evaluated'>(name: N, requestId: string) => {
    const stream = name.startsWith('review.') ? 'AGF_REVIEW' : name.startsWith('decision.') ? 'AGF_DECISION' : 'AGF_COMPLIANCE';
    return (await system.nats.read(stream, `agf.v1.${name}.>`)).map((m) => m.json<CloudEvent<N>>()).filter((e) => e.data.requestId === requestId);
  };
  const humanReviews = (assigned: CloudEvent<'review.assigned'>[]) => assigned.map((e) => e.data).filter((a) => a.expertKind === 'human');
  const answerOverHttp = async (id: string, a: { assignmentId: string; expertId: string }, decision: 'approve' | 'reject' | 'conditional', comments: string) =>
    eventually(async () => expect((await system.review(id, { assignmentId: a.assignmentId, expertId: a.expertId, decision, comments })).status).toBe(202));

  it('does not decide at once for want of a performance expert: waits for the reviews, escalates, moves up the chain on a breach, and the person at the top decides', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({ projectId: 'storefront', changes: ['src/auth/checkout-session.ts'], riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'critical' } }),
    );
    const humans = await eventually(async () => {
      const found = humanReviews(await eventsOf('review.assigned', id));
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    // Nobody can review performance, yet nothing is decided while the human reviews are pending.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await system.decisionsOf(id)).toHaveLength(0);
    expect(await eventsOf('decision.escalated', id)).toHaveLength(0);

    for (const review of humans) await answerOverHttp(id, review, 'approve', 'fine from my side');
    const first = await eventually(async () => {
      const found = await eventsOf('decision.escalated', id);
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found[0]!.data;
    }, 30_000, 200);
    expect(first).toMatchObject({ reason: 'missing-expert', level: 1, expertType: 'human_oversight' });
    expect(first.detail).toMatch(/performance/);
    expect(await system.decisionsOf(id)).toHaveLength(0);

    // Nobody at level 1 answers: the step's SLA runs out and the request moves up to the chain's second step.
    const second = await eventually(async () => {
      const found = (await eventsOf('decision.escalated', id)).filter((e) => e.data.level === 2);
      expect(found).toHaveLength(1);
      return found[0]!.data;
    }, 60_000, 250);
    expect(second).toMatchObject({ reason: 'sla-breached', expertType: 'security' });
    const breaches = (await system.nats.read('AGF_SLA', 'agf.v1.sla.breached.>')).map((m) => m.json<CloudEvent<'sla.breached'>>().data);
    expect(breaches.some((b) => b.assignmentId === first.assignees[0]!.assignmentId)).toBe(true);

    const [decider] = second.assignees;
    await answerOverHttp(id, decider!, 'reject', 'no load test for a critical change');
    const decision = await system.decision(id, 30_000);
    expect(decision.data).toMatchObject({
      outcome: 'BLOCK_WITH_FEEDBACK',
      approved: false,
      escalation: { reason: 'sla-breached', level: 2, resolvedByAssignmentId: decider!.assignmentId, resolvedByExpertId: decider!.expertId, justification: 'no load test for a critical change' },
    });
    const trail = await eventually(async () => {
      const entries = await system.auditTrail(id);
      expect(entries.filter((e) => e.eventType.includes('.decision.escalated.'))).toHaveLength(2);
      return entries;
    });
    expect(trail.some((e) => e.eventType.includes('.decision.made.'))).toBe(true);
  });

  it('break-glass approves an undecided request as an emergency change, cancels its open reviews and their timers, and its after-the-fact review is answered after the decision', async () => {
    const input = aDeploymentRequestInput({ projectId: 'payments', changes: ['src/auth/token.ts'], riskIndicators: { securitySensitive: true, testsPassed: true, userImpact: 'low' } });
    const id = await system.submit(input);
    const pending = await eventually(async () => {
      const found = humanReviews(await eventsOf('review.assigned', id));
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    // SLA timers exist for the pending reviews.
    await eventually(async () => {
      const timers = await system.db.query<{ assignment_id: string }>(`SELECT "assignment_id" FROM "sla"."timers" WHERE "request_id" = $1`, [id]);
      for (const review of pending) expect(timers.map((t) => t.assignment_id)).toContain(review.assignmentId);
    });

    const breakGlass = { requestId: id, projectId: input.projectId, justification: 'payments are failing in production; hotfix', actor: { subject: 'erin-oncall', channel: 'http' as const }, requestedAt: new Date().toISOString() };
    await system.nats.publishEvent('deployment.break_glass', breakGlass, { correlationId: id, source: 'intake' });
    const decision = await system.decision(id, 30_000);
    expect(decision.data).toMatchObject({ outcome: 'PROCEED_STANDARD', approved: true, emergency: { justification: breakGlass.justification, approvedBy: { subject: 'erin-oncall' } } });
    expect(decision.data.decisionRationale).toMatch(/Emergency change/);
    const afterTheFact = decision.data.emergency!.afterTheFactReview!;
    expect(afterTheFact).toMatchObject({ expertId: expect.stringMatching(/^oversight_board_/) });

    // Every pending review was cancelled, each with its own event, and its timers stopped; the after-the-fact review is timed.
    const cancelled = await eventually(async () => {
      const found = await eventsOf('review.cancelled', id);
      expect(found.map((e) => e.data.assignmentId).sort()).toEqual(pending.map((p) => p.assignmentId).sort());
      return found;
    });
    expect(cancelled.every((e) => e.data.reason === 'decided')).toBe(true);
    await eventually(async () => {
      const timers = await system.db.query<{ assignment_id: string; cancel_reason: string | null; fired_at: Date | null }>(
        `SELECT "assignment_id", "cancel_reason", "fired_at" FROM "sla"."timers" WHERE "request_id" = $1`,
        [id],
      );
      for (const review of pending) {
        for (const timer of timers.filter((t) => t.assignment_id === review.assignmentId)) expect(timer.cancel_reason ?? (timer.fired_at ? 'fired' : null)).not.toBeNull();
      }
      const kept = timers.filter((t) => t.assignment_id === afterTheFact.assignmentId);
      expect(kept).toHaveLength(2);
      expect(kept.every((t) => t.cancel_reason === null)).toBe(true);
    });
    const assigned = (await eventsOf('review.assigned', id)).find((e) => e.data.assignmentId === afterTheFact.assignmentId);
    expect(assigned!.data).toMatchObject({ role: 'oversight', expertType: 'human_oversight', slaHours: 1 });

    // SOC2 CC8.1: an emergency change, pending its review after the fact.
    const cc81 = async () => {
      const evaluations = (await eventsOf('compliance.evaluated', id)).sort((a, b) => a.data.evaluatedAt.localeCompare(b.data.evaluatedAt));
      return evaluations.at(-1)?.data.controls.find((c) => c.framework === 'SOC2' && c.control === 'CC8.1');
    };
    await eventually(async () => expect(await cc81()).toMatchObject({ status: 'pending', reason: expect.stringMatching(/emergency change, after-the-fact review pending/) }));

    // A second break-glass changes nothing.
    await system.nats.publishEvent('deployment.break_glass', { ...breakGlass, requestedAt: new Date().toISOString() }, { correlationId: id, source: 'intake' });

    // The after-the-fact review is answered although the request is decided (over NATS, with the reviewer's credential).
    const answer = createEvent({
      name: 'review.submit',
      source: 'test',
      correlationId: id,
      data: { requestId: id, projectId: input.projectId, assignmentId: afterTheFact.assignmentId, expertId: afterTheFact.expertId, decision: 'approve', comments: 'hotfix was right; follow-up ticket filed', conditions: [], submittedAt: new Date().toISOString() },
    });
    await system.nats.publish(subjectFor('review.submit', input.projectId), JSON.stringify(answer), answer.id, { Authorization: await system.identity.bearer({ sub: afterTheFact.expertId, roles: ['reviewer'] }) });
    await eventually(async () => expect((await eventsOf('review.completed', id)).map((e) => e.data.assignmentId)).toContain(afterTheFact.assignmentId));
    await eventually(async () => expect(await cc81()).toMatchObject({ status: 'pass', reason: expect.stringMatching(/approved after the fact/) }));
    expect(await system.decisionsOf(id)).toHaveLength(1);

    const trail = await system.auditTrail(id);
    for (const type of ['deployment.break_glass', 'review.cancelled', 'decision.made']) expect(trail.some((e) => e.eventType.includes(`.${type}.`))).toBe(true);
  });
});
