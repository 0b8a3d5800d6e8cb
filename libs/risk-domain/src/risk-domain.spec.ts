import type { DeploymentRequest, HistoryStats } from '@agf/contracts';
import { analyzeComplexity, analyzeHistory, analyzeImpact, analyzeSecurity } from './analyzers';
import { assessRisk, normaliseWeights } from './assess';

const WEIGHTS = { security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 };

function request(riskIndicators: DeploymentRequest['riskIndicators'] = {}, extra: Partial<DeploymentRequest> = {}): DeploymentRequest {
  return {
    requestId: '00000000-0000-4000-8000-000000000001',
    projectId: 'shop',
    componentName: 'checkout',
    version: '1.2.3',
    changes: ['src/cart/total.ts'],
    riskIndicators,
    requester: 'alice',
    timestamp: '2026-11-20T12:00:00.000Z',
    metadata: {},
    receivedAt: '2026-11-20T12:00:00.000Z',
    receivedVia: 'http',
    ...extra,
  };
}

function stats(deployments: number, failures = 0, rollbacks = 0, extra: Partial<HistoryStats> = {}): HistoryStats {
  return {
    deployments,
    failures,
    rollbacks,
    failureRate: deployments ? (failures + rollbacks) / deployments : 0,
    rollbackRate: deployments ? rollbacks / deployments : 0,
    lastFailureAt: null,
    recentIncidents: 0,
    ...extra,
  };
}

describe('security analyzer', () => {
  it.each([
    ['no findings, scanned', { vulnerabilities: {}, securitySensitive: false }, 0, 0],
    ['one low finding', { vulnerabilities: { low: 1 }, securitySensitive: false }, 0.01, 0.02],
    ['one high finding', { vulnerabilities: { high: 1 }, securitySensitive: false }, 0.2, 0.2],
    ['two critical findings', { vulnerabilities: { critical: 2 } }, 0.69, 0.71],
    ['security-sensitive flag', { vulnerabilities: {}, securitySensitive: true }, 0.3, 0.3],
  ])('%s scores in range', (_name, indicators, min, max) => {
    const r = analyzeSecurity(request(indicators));
    expect(r.score).toBeGreaterThanOrEqual(min);
    expect(r.score).toBeLessThanOrEqual(max);
  });

  it('names the findings in plain words and suggests fixing them', () => {
    const r = analyzeSecurity(request({ vulnerabilities: { critical: 2, high: 1 } }));
    expect(r.factors).toEqual(expect.arrayContaining(['2 critical vulnerabilities', '1 high vulnerability']));
    expect(r.mitigations).toContain('Fix or patch the critical vulnerabilities before deploying');
  });

  it('flags security-relevant paths and leaked secrets', () => {
    const r = analyzeSecurity(request({ vulnerabilities: {} }, { changes: ['src/auth/login.ts', 'config AKIAABCDEFGHIJKLMNOP'] }));
    expect(r.factors.join('\n')).toMatch(/authentication/);
    expect(r.factors.join('\n')).toMatch(/AWS access key id/);
    expect(r.score).toBeGreaterThan(0.6);
  });

  it.each([
    ['everything known', { vulnerabilities: {}, securitySensitive: false }, ['a.ts'], 1],
    ['no scan result', { securitySensitive: false }, ['a.ts'], 0.65],
    ['nothing at all', {}, [], 0.35],
  ])('confidence falls with missing signals: %s', (_name, indicators, changes, expected) => {
    expect(analyzeSecurity(request(indicators, { changes })).confidence).toBeCloseTo(expected, 4);
  });
});

describe('complexity analyzer', () => {
  it.each([
    [{ codeChanges: 10, filesChanged: 1 }, 0, 0.4],
    [{ codeChanges: 5000, filesChanged: 100 }, 0.8, 1],
    [{ la: 3000, ld: 2000, nf: 100, entropy: 0.9, ns: 8 }, 0.8, 1],
  ])('%j scores between %d and %d', (indicators, min, max) => {
    const r = analyzeComplexity(request(indicators));
    expect(r.score).toBeGreaterThanOrEqual(min);
    expect(r.score).toBeLessThanOrEqual(max);
  });

  it('is neutral with low confidence when the size is unknown', () => {
    const r = analyzeComplexity(request({}, { changes: [] }));
    expect(r.score).toBe(0.5);
    expect(r.confidence).toBeLessThan(0.3);
  });

  it('names big changes and failing tests', () => {
    const r = analyzeComplexity(request({ codeChanges: 4200, filesChanged: 80, testsPassed: false }));
    expect(r.factors).toEqual(expect.arrayContaining(['4,200 lines changed', '80 files changed', 'tests failed']));
    expect(r.mitigations).toContain('Fix the failing tests before deploying');
  });

  it('grows with the size of the change', () => {
    const sizes = [10, 100, 1000, 5000].map((codeChanges) => analyzeComplexity(request({ codeChanges })).score);
    expect([...sizes].sort((a, b) => a - b)).toEqual(sizes);
    expect(new Set(sizes).size).toBe(4);
  });
});

describe('impact analyzer', () => {
  it.each([
    ['low', 0.1],
    ['medium', 0.35],
    ['high', 0.65],
    ['critical', 0.9],
  ] as const)('%s user impact scores %d on its own', (userImpact, expected) => {
    expect(analyzeImpact(request({ userImpact, affectedProjects: [], touchesPersonalData: false })).score).toBeCloseTo(expected, 4);
  });

  it('counts only other projects as cross-project impact', () => {
    const own = analyzeImpact(request({ userImpact: 'low', affectedProjects: ['shop'] }));
    const other = analyzeImpact(request({ userImpact: 'low', affectedProjects: ['shop', 'billing'] }));
    expect(other.score).toBeGreaterThan(own.score);
    expect(other.factors).toContain('affects 1 other project: billing');
  });

  it('assumes medium impact with lower confidence when userImpact is missing', () => {
    const r = analyzeImpact(request({}));
    expect(r.score).toBeCloseTo(0.35, 4);
    expect(r.confidence).toBeLessThan(0.5);
  });
});

describe('historical analyzer', () => {
  it('gives a project without history a neutral score and a low confidence', () => {
    const r = analyzeHistory(request(), {});
    expect(r.score).toBe(0.5);
    expect(r.confidence).toBe(0.3);
    expect(r.factors).toContain('no deployment history yet (neutral score)');
  });

  it.each([
    ['10 successes', { project: stats(10), component: stats(10) }, 0, 0.2],
    ['1 of 1 rolled back', { project: stats(1, 0, 1), component: stats(1, 0, 1) }, 0.6, 0.75],
    ['5 of 10 failed', { project: stats(10, 5), component: stats(10, 5) }, 0.45, 0.55],
  ])('%s', (_name, history, min, max) => {
    const r = analyzeHistory(request(), history);
    expect(r.score).toBeGreaterThanOrEqual(min);
    expect(r.score).toBeLessThanOrEqual(max);
  });

  it('raises the score after each rollback', () => {
    const scores = [stats(3), stats(4, 0, 1), stats(5, 0, 2)].map((s) => analyzeHistory(request(), { project: s, component: s }).score);
    expect(scores[1]).toBeGreaterThan(scores[0]!);
    expect(scores[2]).toBeGreaterThan(scores[1]!);
  });

  it('measures recency from the request timestamp, not the clock', () => {
    const recent = stats(4, 1, 0, { lastFailureAt: '2026-11-18T12:00:00.000Z' });
    const old = stats(4, 1, 0, { lastFailureAt: '2026-10-01T12:00:00.000Z' });
    expect(analyzeHistory(request(), { project: recent }).score).toBeGreaterThan(analyzeHistory(request(), { project: old }).score);
    expect(analyzeHistory(request(), { project: recent }).factors).toContain('last failure less than 7 days ago');
  });
});

describe('assessRisk', () => {
  it('is deterministic for the same input and history', () => {
    const input = { request: request({ codeChanges: 300, vulnerabilities: { high: 1 }, userImpact: 'high' }), history: { project: stats(5, 1) }, weights: WEIGHTS };
    expect(assessRisk(input)).toEqual(assessRisk(structuredClone(input)));
  });

  it('combines the analyzers with normalised weights', () => {
    const r = assessRisk({ request: request({ vulnerabilities: { critical: 1 } }), history: {}, weights: { security: 2, complexity: 0, impact: 0, historical: 0 } });
    expect(r.weights).toEqual({ security: 1, complexity: 0, impact: 0, historical: 0 });
    expect(r.overallScore).toBe(r.securityScore);
  });

  it.each([
    [{ security: 1, complexity: 1, impact: 1, historical: 1 }, { security: 0.25, complexity: 0.25, impact: 0.25, historical: 0.25 }],
    [{ security: 0, complexity: 0, impact: 0, historical: 0 }, { security: 0.25, complexity: 0.25, impact: 0.25, historical: 0.25 }],
    [{ security: 0.5, complexity: 0.5, impact: 0, historical: 0 }, { security: 0.5, complexity: 0.5, impact: 0, historical: 0 }],
  ])('normalises %j', (weights, expected) => {
    expect(normaliseWeights(weights)).toEqual(expected);
  });

  it('ranks a risky request far above a routine one', () => {
    const routine = assessRisk({
      request: request({ codeChanges: 20, filesChanged: 2, vulnerabilities: {}, securitySensitive: false, userImpact: 'low', testsPassed: true, affectedProjects: [], touchesPersonalData: false }),
      history: { project: stats(20), component: stats(20) },
      weights: WEIGHTS,
    });
    const risky = assessRisk({
      request: request({ codeChanges: 4000, filesChanged: 90, vulnerabilities: { critical: 2 }, securitySensitive: true, userImpact: 'critical', testsPassed: false }, { changes: ['src/auth/session.ts'] }),
      history: { project: stats(4, 1, 2), component: stats(4, 1, 2) },
      weights: WEIGHTS,
    });
    expect(routine.overallScore).toBeLessThan(0.3);
    expect(risky.overallScore).toBeGreaterThan(0.7);
    expect(risky.riskFactors).toContain('2 critical vulnerabilities');
    expect(risky.mitigationSuggestions.length).toBeGreaterThan(3);
    expect(routine.confidence).toBeGreaterThan(risky.confidence - 0.2);
  });
});
