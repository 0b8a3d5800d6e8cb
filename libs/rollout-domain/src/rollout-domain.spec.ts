import type { MonitoringRequirement, RollbackPlan } from '@agf/contracts';
import { afterVerdict, applyReport, criteriaOf, evaluate, fillQuery, inUnit, isEmergency, liveRisk, parseTriggerCondition, type Reading, rollbackTimeline } from './index';

const NOW = new Date('2026-12-05T12:00:00Z');
const errorRate: MonitoringRequirement = { metric: 'http_error_rate', comparison: 'above', threshold: 1, unit: '%', durationMinutes: 60, reason: 'baseline' };
const latency: MonitoringRequirement = { metric: 'http_latency_p99', comparison: 'above', threshold: 500, unit: 'ms', durationMinutes: 60, reason: 'impact' };
const plan = (triggerConditions: string[]): RollbackPlan => ({ source: 'generated', previousVersion: '1.0.0', steps: ['redeploy 1.0.0'], triggerConditions, maxDurationMinutes: 15 });
const reading = (name: string, value: number, secondsAgo = 5, unit: string | null = null): Reading => ({ name, value, unit, at: new Date(NOW.getTime() - secondsAgo * 1000).toISOString(), source: 'pushed' });

describe('criteria', () => {
  it('parses the trigger conditions coe writes, and leaves prose alone', () => {
    expect(parseTriggerCondition('http_error_rate above 1% for 5 minutes')).toEqual({ metric: 'http_error_rate', comparison: 'above', threshold: 1, unit: '%', source: 'rollback-criterion' });
    expect(parseTriggerCondition('deployment_health_score below 0.95 ratio for 5 minutes')).toMatchObject({ comparison: 'below', threshold: 0.95, unit: 'ratio' });
    expect(parseTriggerCondition('page the on-call if customers complain')).toBeUndefined();
  });

  it('takes each threshold once from the monitoring requirements and the rollback plan', () => {
    const criteria = criteriaOf({ monitoringRequirements: [errorRate, latency], rollbackPlan: plan(['http_error_rate above 1% for 5 minutes', 'saturation above 0.9 ratio']) });
    expect(criteria.map((c) => `${c.metric}:${c.threshold}:${c.source}`)).toEqual(['http_error_rate:1:monitoring-requirement', 'http_latency_p99:500:monitoring-requirement', 'saturation:0.9:rollback-criterion']);
  });

  it('tightens thresholds for an emergency: above ones drop, below ones rise (a ratio at most to 1)', () => {
    const health: MonitoringRequirement = { metric: 'deployment_health_score', comparison: 'below', threshold: 0.95, unit: 'ratio', durationMinutes: 60, reason: 'history' };
    const criteria = criteriaOf({ monitoringRequirements: [errorRate, health], rollbackPlan: null }, 0.5);
    expect(criteria.map((c) => c.threshold)).toEqual([0.5, 1]);
  });
});

describe('evaluate', () => {
  const criteria = criteriaOf({ monitoringRequirements: [errorRate, latency], rollbackPlan: null });

  it('is healthy when every criterion has a fresh passing reading (error_rate as a fraction meets http_error_rate in %)', () => {
    const result = evaluate(criteria, [reading('error_rate', 0.004), reading('latency_p99_ms', 220)], NOW, 120);
    expect(result.verdict).toBe('healthy');
    expect(result.criteria.map((c) => c.observed)).toEqual([0.4, 220]);
  });

  it('fails when a reading crosses a threshold, and says when that reading was taken', () => {
    const result = evaluate(criteria, [reading('error_rate', 0.05, 3), reading('latency_p99_ms', 220)], NOW, 120);
    expect(result.verdict).toBe('failing');
    expect(result.failed).toEqual([expect.objectContaining({ metric: 'http_error_rate', observed: 5, signal: 'error_rate', status: 'fail' })]);
    expect(result.failingSignalAt).toBe(new Date(NOW.getTime() - 3000).toISOString());
  });

  it('is inconclusive, never healthy, without fresh data: nothing, a stale reading, or no criteria', () => {
    expect(evaluate(criteria, [], NOW, 120).verdict).toBe('inconclusive');
    expect(evaluate(criteria, [reading('error_rate', 0.001, 600), reading('latency_p99_ms', 100)], NOW, 120).verdict).toBe('inconclusive');
    expect(evaluate([], [reading('error_rate', 0.001)], NOW, 120).verdict).toBe('inconclusive');
  });

  it('a failure wins over missing data', () => {
    expect(evaluate(criteria, [reading('latency_p99_ms', 900)], NOW, 120).verdict).toBe('failing');
  });

  it('takes the newest fresh reading of a signal', () => {
    expect(evaluate(criteria, [reading('error_rate', 0.5, 30), reading('error_rate', 0.001, 2), reading('latency_p99_ms', 100)], NOW, 120).verdict).toBe('healthy');
  });

  it('converts units', () => {
    expect(inUnit(0.02, 'ratio', '%')).toBe(2);
    expect(inUnit(2, '%', 'ratio')).toBe(0.02);
    expect(inUnit(0.3, 's', 'ms')).toBe(300);
    expect(inUnit(7, null, '%')).toBe(7);
  });
});

describe('live risk (the re-assessment)', () => {
  const criteria = criteriaOf({ monitoringRequirements: [errorRate], rollbackPlan: null });
  it('is 1 on a failure, higher without data, and rises with how near a healthy signal runs to its limit', () => {
    expect(liveRisk(0.3, evaluate(criteria, [reading('error_rate', 0.5)], NOW, 120)).score).toBe(1);
    expect(liveRisk(0.2, evaluate(criteria, [], NOW, 120)).score).toBeCloseTo(0.4);
    const calm = liveRisk(0.2, evaluate(criteria, [reading('error_rate', 0)], NOW, 120));
    const close = liveRisk(0.2, evaluate(criteria, [reading('error_rate', 0.009)], NOW, 120));
    expect(calm.score).toBe(0.2);
    expect(close.score).toBeGreaterThan(calm.score);
    expect(close.factors[0]).toMatch(/live signals healthy/);
  });
});

describe('lifecycle', () => {
  it('starts only from "started", and the same report twice changes nothing', () => {
    expect(applyReport('not-started', 'progressing')).toMatchObject({ ok: false, code: 'not-started' });
    expect(applyReport('not-started', 'started')).toMatchObject({ ok: true, status: 'in-progress' });
    expect(applyReport('in-progress', 'started')).toMatchObject({ ok: true, changed: false });
    expect(applyReport('completed', 'completed')).toMatchObject({ ok: true, changed: false });
    expect(applyReport('completed', 'progressing')).toMatchObject({ ok: false, code: 'finished' });
  });

  it('a requested rollback is confirmed only by aborted or rolled-back', () => {
    expect(applyReport('rollback-requested', 'completed')).toMatchObject({ ok: false, code: 'rollback-requested' });
    expect(applyReport('rollback-requested', 'progressing')).toMatchObject({ ok: false, code: 'rollback-requested' });
    expect(applyReport('rollback-requested', 'rolled-back')).toMatchObject({ ok: true, status: 'rolled-back', rollbackConfirmed: true });
    expect(applyReport('rollback-requested', 'aborted')).toMatchObject({ ok: true, status: 'aborted', rollbackConfirmed: true });
  });

  it('a paused rollout resumes on progressing and cannot complete while paused', () => {
    expect(applyReport('paused', 'progressing')).toMatchObject({ ok: true, status: 'in-progress', resumed: true });
    expect(applyReport('paused', 'completed')).toMatchObject({ ok: false, code: 'paused' });
  });

  it('pauses after the limit of inconclusive verdicts in a row; a conclusive one resets the count; a failure rolls back', () => {
    expect(afterVerdict('in-progress', 0, 'inconclusive', 3)).toEqual({ consecutiveInconclusive: 1, pause: false, rollback: false });
    expect(afterVerdict('in-progress', 2, 'inconclusive', 3)).toEqual({ consecutiveInconclusive: 3, pause: true, rollback: false });
    expect(afterVerdict('paused', 5, 'inconclusive', 3)).toMatchObject({ pause: false });
    expect(afterVerdict('in-progress', 2, 'healthy', 3)).toEqual({ consecutiveInconclusive: 0, pause: false, rollback: false });
    expect(afterVerdict('paused', 2, 'failing', 3)).toMatchObject({ rollback: true });
  });

  it('times a rollback against its target: warning at 75 %', () => {
    const { warnAt, dueAt } = rollbackTimeline(NOW, 15);
    expect(dueAt.getTime() - NOW.getTime()).toBe(15 * 60_000);
    expect(warnAt.getTime() - NOW.getTime()).toBe(11.25 * 60_000);
  });

  it('treats break-glass and critical-priority requests as emergencies', () => {
    expect(isEmergency({ emergency: { justification: 'x' } }, {})).toBe(true);
    expect(isEmergency({}, { priority: 'critical' })).toBe(true);
    expect(isEmergency({}, { priority: 'high' })).toBe(false);
  });

  it('fills PromQL templates and escapes quotes in label values', () => {
    expect(fillQuery('rate(errors{job="$component",project="$project"}[1m])', { project: 'p', component: 'a"b', version: '1', request: 'r' })).toBe('rate(errors{job="a\\"b",project="p"}[1m])');
  });
});

describe('observed values', () => {
  it('carry no float noise from the unit conversion', () => {
    const criteria = criteriaOf({ monitoringRequirements: [errorRate], rollbackPlan: null });
    expect(evaluate(criteria, [reading('error_rate', 0.07)], NOW, 120).criteria[0]!.observed).toBe(7);
  });
});
