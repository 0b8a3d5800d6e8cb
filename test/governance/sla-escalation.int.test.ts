import type { CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually } from '@agf/testing';
import { TestSystem } from './system';

jest.setTimeout(120_000);

describe('an unanswered review escalates through SLA breaches', () => {
  let system: TestSystem;

  beforeAll(async () => {
    // SLAs of a few seconds (fractional hours) so the whole ladder runs inside the test.
    system = await TestSystem.start('agf-config.fast-sla.yaml');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('warns, breaches, reassigns, goes to human oversight, and ends ESCALATE_TO_HUMAN', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'ledger',
        changes: ['src/ledger/posting.ts'],
        riskIndicators: { codeChanges: 50, testsPassed: true, userImpact: 'medium', affectedProjects: ['reporting'] },
      }),
    );
    const decision = await system.decision(id, 90_000);
    expect(decision.data).toMatchObject({ outcome: 'ESCALATE_TO_HUMAN', approved: false });
    expect(decision.data.decisionRationale).toMatch(/SLA/);

    const sla = (await system.nats.read('AGF_SLA')).map((m) => ({ subject: m.subject, data: m.json<CloudEvent<'sla.warning'>>().data })).filter((e) => e.data.requestId === id);
    expect(sla.some((e) => e.subject.startsWith('agf.v1.sla.warning.'))).toBe(true);
    expect(sla.filter((e) => e.subject.startsWith('agf.v1.sla.breached.')).length).toBeGreaterThanOrEqual(2);

    const view = await eventually(async () => {
      const v = await system.view(id);
      expect(v.status).toBe('decided');
      return v;
    });
    expect(view.assignments.some((a) => a.status === 'reassigned')).toBe(true);
    expect(view.assignments.some((a) => a.role === 'oversight')).toBe(true);
  });
});
