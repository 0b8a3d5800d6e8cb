import type { CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually } from '@agf/testing';
import { TestSystem } from './system';

jest.setTimeout(120_000);

describe('an unanswered review escalates through SLA breaches to a person who decides', () => {
  let system: TestSystem;

  beforeAll(async () => {
    // SLAs of a few seconds (fractional hours) so the whole ladder runs inside the test.
    system = await TestSystem.start('agf-config.fast-sla.yaml');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('warns, breaches, reassigns, escalates to human oversight, and oversight answer is the one decision', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'ledger',
        changes: ['src/ledger/posting.ts'],
        riskIndicators: { codeChanges: 50, testsPassed: true, userImpact: 'medium', affectedProjects: ['reporting'] },
      }),
    );
    const escalated = await eventually(async () => {
      const found = (await system.nats.read('AGF_DECISION', 'agf.v1.decision.escalated.>')).map((m) => m.json<CloudEvent<'decision.escalated'>>()).filter((e) => e.data.requestId === id);
      expect(found).toHaveLength(1);
      return found[0]!.data;
    }, 90_000, 250);
    expect(escalated).toMatchObject({ reason: 'sla-breached', level: 1, expertType: 'human_oversight' });
    // Escalated, not decided: the request waits for the named person.
    expect(await system.decisionsOf(id)).toHaveLength(0);

    const sla = (await system.nats.read('AGF_SLA')).map((m) => ({ subject: m.subject, data: m.json<CloudEvent<'sla.warning'>>().data })).filter((e) => e.data.requestId === id);
    expect(sla.some((e) => e.subject.startsWith('agf.v1.sla.warning.'))).toBe(true);
    expect(sla.filter((e) => e.subject.startsWith('agf.v1.sla.breached.')).length).toBeGreaterThanOrEqual(2);

    const [assignee] = escalated.assignees;
    await eventually(async () => {
      const response = await system.review(id, { assignmentId: assignee!.assignmentId, expertId: assignee!.expertId, decision: 'approve', comments: 'reviewed the posting change myself; go' });
      expect(response.status).toBe(202);
    });
    const decision = await system.decision(id, 30_000);
    expect(decision.data).toMatchObject({
      outcome: 'PROCEED_STANDARD',
      approved: true,
      escalation: { reason: 'sla-breached', level: 1, resolvedByAssignmentId: assignee!.assignmentId, resolvedByExpertId: assignee!.expertId, justification: 'reviewed the posting change myself; go' },
    });
    expect(decision.data.escalation!.resolvedBy?.subject).toBe(assignee!.expertId);
    expect(decision.data.decisionRationale).toMatch(/escalation/);

    const view = await eventually(async () => {
      const v = await system.view(id);
      expect(v.status).toBe('decided');
      return v;
    });
    expect(view.assignments.some((a) => a.status === 'reassigned')).toBe(true);
    expect(view.assignments.some((a) => a.role === 'oversight' && a.id === assignee!.assignmentId)).toBe(true);
    // Still exactly one decision.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await system.decisionsOf(id)).toHaveLength(1);
  });
});
