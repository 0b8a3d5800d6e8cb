import type { DeploymentRequest } from '@agf/contracts';
import { extractFeatures, type FeatureVector, NEUTRAL, rankSimilar, similarity } from './features';
import { type DeploymentRecord, summarizeHistory } from './history';

function makeRequest(riskIndicators: DeploymentRequest['riskIndicators'], changes: string[] = []): DeploymentRequest {
  return {
    requestId: 'r1',
    projectId: 'p1',
    componentName: 'api',
    version: '1.0.0',
    changes,
    requester: 'dev',
    timestamp: '2024-01-01T00:00:00.000Z',
    receivedAt: '2024-01-01T00:00:00.000Z',
    receivedVia: 'http',
    metadata: {},
    riskIndicators,
  };
}

describe('extractFeatures', () => {
  it.each([
    ['empty indicators', {}],
    ['huge values', { codeChanges: 1e9, filesChanged: 1e6, vulnerabilities: { critical: 99, high: 99 }, entropy: 7 }],
    ['negative values', { codeChanges: -5, filesChanged: -1, entropy: -2 }],
    ['all flags on', { securitySensitive: true, touchesPersonalData: true, testsPassed: false, userImpact: 'critical' as const }],
  ])('keeps every feature in 0..1 (%s)', (_label, indicators) => {
    const features = extractFeatures(makeRequest(indicators, Array(500).fill('x')), {
      overallScore: 150,
      securityScore: 40,
      complexityScore: 0.3,
      impactScore: -1,
    });
    for (const value of Object.values(features)) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
  });

  it.each([
    ['codeChanges', { codeChanges: 5000 }, 1],
    ['codeChanges', { codeChanges: 0 }, 0],
    ['codeChanges', {}, NEUTRAL],
    ['filesChanged', { filesChanged: 50 }, 0.5],
    ['filesChanged', { filesChanged: 300 }, 1],
    ['securitySensitive', { securitySensitive: true }, 1],
    ['securitySensitive', {}, NEUTRAL],
    ['testsFailed', { testsPassed: false }, 1],
    ['testsFailed', { testsPassed: true }, 0],
    ['userImpact', { userImpact: 'low' as const }, 0.25],
    ['userImpact', { userImpact: 'high' as const }, 0.75],
    ['userImpact', {}, 0.5],
    ['crossProject', { affectedProjects: ['p1'] }, 0],
    ['crossProject', { affectedProjects: ['p1', 'p2'] }, 1],
    ['complianceScoped', { complianceScopes: ['gdpr'] }, 1],
    ['complianceScoped', {}, 0],
    ['entropy', { entropy: 0.4 }, 0.4],
    ['criticalVulns', {}, 0],
  ])('%s for %j is %p', (feature, indicators, expected) => {
    expect(extractFeatures(makeRequest(indicators))[feature]).toBeCloseTo(expected, 5);
  });

  it('saturates changeCount at 50', () => {
    expect(extractFeatures(makeRequest({}, Array(25).fill('c'))).changeCount).toBeCloseTo(0.5);
    expect(extractFeatures(makeRequest({}, Array(80).fill('c'))).changeCount).toBe(1);
  });

  it('adds risk scores only when given', () => {
    expect(extractFeatures(makeRequest({})).riskOverall).toBeUndefined();
    expect(extractFeatures(makeRequest({}), { overallScore: 60, securityScore: 0.2, complexityScore: 0, impactScore: 1 }))
      .toMatchObject({ riskOverall: 0.6, riskSecurity: 0.2, riskComplexity: 0, riskImpact: 1 });
  });
});

describe('similarity', () => {
  const base: FeatureVector = { a: 0.2, b: 0.8, c: 0.5 };

  it.each([
    ['identical', base, base, 1],
    ['both empty', {}, {}, 1],
    ['opposite corners', { a: 0, b: 0 }, { a: 1, b: 1 }, 0],
  ])('%s → %p', (_label, left, right, expected) => {
    expect(similarity(left, right)).toBeCloseTo(expected, 10);
  });

  it.each([
    [base, { a: 0.3, b: 0.1 }],
    [{ x: 1 }, { y: 1 }],
  ])('is symmetric and within 0..1 (%j vs %j)', (left, right) => {
    const forward = similarity(left, right);
    expect(forward).toBeCloseTo(similarity(right, left), 12);
    expect(forward).toBeGreaterThanOrEqual(0);
    expect(forward).toBeLessThanOrEqual(1);
  });

  it('decreases as vectors diverge', () => {
    const near = similarity(base, { ...base, a: 0.3 });
    const far = similarity(base, { ...base, a: 0.9 });
    expect(near).toBeGreaterThan(far);
  });
});

describe('rankSimilar', () => {
  const target: FeatureVector = { a: 0.5, b: 0.5 };
  const candidates = [
    { id: 'far', features: { a: 1, b: 0 } },
    { id: 'tie-first', features: { a: 0.6, b: 0.5 } },
    { id: 'exact', features: { a: 0.5, b: 0.5 } },
    { id: 'tie-second', features: { a: 0.4, b: 0.5 } },
  ];

  it.each([
    [10, ['exact', 'tie-first', 'tie-second', 'far']],
    [2, ['exact', 'tie-first']],
    [0, ['exact']],
    [-3, ['exact']],
  ])('limit %p → %j', (limit, expectedIds) => {
    const ranked = rankSimilar(target, candidates, limit);
    expect(ranked.map((item) => item.id)).toEqual(expectedIds);
    expect(ranked[0].similarity).toBe(1);
  });

  it('caps the limit at 100', () => {
    const many = Array.from({ length: 150 }, (_, index) => ({ id: index, features: { a: index / 150 } }));
    expect(rankSimilar({ a: 0 }, many, 1000)).toHaveLength(100);
  });
});

describe('summarizeHistory', () => {
  const now = new Date('2024-03-31T00:00:00.000Z');
  const record = (outcome: DeploymentRecord['outcome'], reportedAt: string | null, requestId = 'x'): DeploymentRecord => ({
    requestId,
    outcome,
    reportedAt,
  });

  it.each([
    ['empty', [], { deployments: 0, failures: 0, rollbacks: 0, failureRate: 0, rollbackRate: 0, lastFailureAt: null, recentIncidents: 0 }],
    [
      'all succeed (pending ignored)',
      [record('succeeded', '2024-03-01T00:00:00.000Z'), record('succeeded', '2024-03-02T00:00:00.000Z'), record(null, null)],
      { deployments: 2, failures: 0, rollbacks: 0, failureRate: 0, rollbackRate: 0, lastFailureAt: null, recentIncidents: 0 },
    ],
    [
      'one rollback counts as failure for the rate',
      [
        record('succeeded', '2024-03-01T00:00:00.000Z'),
        record('succeeded', '2024-03-02T00:00:00.000Z'),
        record('succeeded', '2024-03-03T00:00:00.000Z'),
        record('rolled_back', '2024-03-10T00:00:00.000Z'),
      ],
      { deployments: 4, failures: 0, rollbacks: 1, failureRate: 0.25, rollbackRate: 0.25, lastFailureAt: '2024-03-10T00:00:00.000Z', recentIncidents: 1 },
    ],
    [
      'recent window boundary: exactly 30 days ago counts, older does not',
      [
        record('failed', '2024-03-01T00:00:00.000Z'),
        record('failed', '2024-02-29T23:59:59.999Z'),
        record('rolled_back', '2024-01-15T00:00:00.000Z'),
      ],
      { deployments: 3, failures: 2, rollbacks: 1, failureRate: 1, rollbackRate: 1 / 3, lastFailureAt: '2024-03-01T00:00:00.000Z', recentIncidents: 1 },
    ],
  ])('%s', (_label, records, expected) => {
    expect(summarizeHistory(records, now)).toEqual(expected);
  });

  it('honours a custom window', () => {
    const records = [record('failed', '2024-03-25T00:00:00.000Z'), record('failed', '2024-03-20T00:00:00.000Z')];
    expect(summarizeHistory(records, now, 7).recentIncidents).toBe(1);
  });
});
