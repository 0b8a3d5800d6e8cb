import { SlaTimerFired } from '@agf/contracts';
import { z } from 'zod';
import { firingLagSeconds, nextWakeDelay, slaDueAt, timerEventId, timerEventName, timerFiredPayload, timersFor } from './timers';

const at = (iso: string) => new Date(iso);

describe('slaDueAt', () => {
  it.each([
    ['whole hours (tier 0)', 4, '2025-01-01T04:00:00.000Z'],
    ['a day (tier 1)', 24, '2025-01-02T00:00:00.000Z'],
    ['two days (tier 2)', 48, '2025-01-03T00:00:00.000Z'],
    ['half an hour', 0.5, '2025-01-01T00:30:00.000Z'],
    ['about two seconds', 0.000556, '2025-01-01T00:00:02.002Z'],
    ['0.0008 h (fast-sla fixture)', 0.0008, '2025-01-01T00:00:02.880Z'],
    ['zero', 0, '2025-01-01T00:00:00.000Z'],
  ])('%s', (_case, hours, expected) => {
    expect(slaDueAt('2025-01-01T00:00:00.000Z', hours).toISOString()).toBe(expected);
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('rejects %p hours', (hours) => {
    expect(() => slaDueAt(at('2025-01-01T00:00:00Z'), hours)).toThrow(RangeError);
  });

  it('rejects an invalid start', () => {
    expect(() => slaDueAt('yesterday-ish', 1)).toThrow(/assignedAt/);
  });
});

describe('timersFor', () => {
  it.each([
    ['4 h', '2025-01-01T00:00:00.000Z', '2025-01-01T04:00:00.000Z', '2025-01-01T03:00:00.000Z'],
    ['48 h', '2025-01-01T00:00:00.000Z', '2025-01-03T00:00:00.000Z', '2025-01-02T12:00:00.000Z'],
    ['2 s', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:02.000Z', '2025-01-01T00:00:01.500Z'],
    ['odd milliseconds round', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.003Z', '2025-01-01T00:00:00.002Z'],
    ['an empty window', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
  ])('%s: warning at 75 %%, breach at the due time', (_case, assignedAt, due, warningAt) => {
    expect(timersFor({ assignedAt, slaDueAt: due })).toEqual([
      { kind: 'warning', fraction: 0.75, dueAt: at(warningAt) },
      { kind: 'breached', fraction: 1, dueAt: at(due) },
    ]);
  });

  it('treats a due time before the assignment as an empty window', () => {
    const timers = timersFor({ assignedAt: at('2025-01-01T00:00:10Z'), slaDueAt: at('2025-01-01T00:00:00Z') });
    expect(timers.map((t) => t.dueAt.toISOString())).toEqual(['2025-01-01T00:00:10.000Z', '2025-01-01T00:00:10.000Z']);
  });

  it('agrees with slaDueAt for fractional hours', () => {
    const assignedAt = at('2025-06-01T12:00:00Z');
    const [warning, breach] = timersFor({ assignedAt, slaDueAt: slaDueAt(assignedAt, 0.001) });
    expect(breach!.dueAt.getTime() - assignedAt.getTime()).toBe(3600);
    expect(warning!.dueAt.getTime() - assignedAt.getTime()).toBe(2700);
  });
});

describe('nextWakeDelay', () => {
  const now = at('2025-01-01T00:00:00.000Z');
  it.each([
    ['nothing scheduled', undefined, 200, 200],
    ['nothing scheduled (null)', null, 200, 200],
    ['due later than the cap', '2025-01-01T00:00:05.000Z', 200, 200],
    ['due within the cap', '2025-01-01T00:00:00.050Z', 200, 50],
    ['due in one millisecond', new Date(now.getTime() + 1), 200, 1],
    ['due now', '2025-01-01T00:00:00.000Z', 200, 0],
    ['overdue', '2024-12-31T23:59:00.000Z', 200, 0],
  ])('%s', (_case, next, max, expected) => {
    expect(nextWakeDelay(next, now, max)).toBe(expected);
  });
});

describe('timerEventId', () => {
  const assignment = '6f1c1f0e-7b1a-4a57-9d2e-2f7c1d1b2a10';
  it('is deterministic per assignment and kind', () => {
    expect(timerEventId(assignment, 'warning')).toBe(timerEventId(assignment, 'warning'));
    expect(timerEventId(assignment.toUpperCase(), 'breached')).toBe(timerEventId(assignment, 'breached'));
  });

  it('differs between kinds and assignments', () => {
    const ids = new Set([
      timerEventId(assignment, 'warning'),
      timerEventId(assignment, 'breached'),
      timerEventId('0b6e4e5c-1d4f-4a8e-8a0c-7c8f1f6f9e21', 'warning'),
    ]);
    expect(ids.size).toBe(3);
  });

  it('is a valid version 8 UUID the CloudEvents envelope accepts', () => {
    const id = timerEventId(assignment, 'breached');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(z.uuid().safeParse(id).success).toBe(true);
  });
});

describe('timerFiredPayload', () => {
  const timer = {
    assignmentId: '6f1c1f0e-7b1a-4a57-9d2e-2f7c1d1b2a10',
    requestId: '0b6e4e5c-1d4f-4a8e-8a0c-7c8f1f6f9e21',
    projectId: 'ledger',
    expertId: 'security_expert_human',
    tierLevel: 1 as const,
    assignedAt: at('2025-01-01T00:00:00Z'),
    slaDueAt: '2025-01-02T00:00:00.000Z',
    dueAt: at('2025-01-01T18:00:00Z'),
  };

  it.each([
    ['warning', 0.75, 'sla.warning'],
    ['breached', 1, 'sla.breached'],
  ] as const)('%s carries fraction %p and is a valid %s payload', (kind, fraction, name) => {
    const payload = timerFiredPayload({ ...timer, kind }, at('2025-01-01T18:00:00.120Z'));
    expect(payload).toEqual({
      requestId: timer.requestId,
      projectId: 'ledger',
      assignmentId: timer.assignmentId,
      expertId: 'security_expert_human',
      tierLevel: 1,
      assignedAt: '2025-01-01T00:00:00.000Z',
      slaDueAt: '2025-01-02T00:00:00.000Z',
      dueAt: '2025-01-01T18:00:00.000Z',
      firedAt: '2025-01-01T18:00:00.120Z',
      fraction,
    });
    expect(SlaTimerFired.safeParse(payload).success).toBe(true);
    expect(timerEventName(kind)).toBe(name);
  });
});

describe('firingLagSeconds', () => {
  it.each([
    ['on time', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', 0],
    ['late', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.250Z', 0.25],
    ['early (clock skew) counts as on time', '2025-01-01T00:00:01.000Z', '2025-01-01T00:00:00.000Z', 0],
  ])('%s', (_case, dueAt, firedAt, expected) => {
    expect(firingLagSeconds(dueAt, firedAt)).toBe(expected);
  });
});
