import { randomUUID } from 'node:crypto';
import type { DeploymentRequest, DeploymentRequestInput } from '../deployment-request';
import type { DecisionMade, RiskAssessed } from '../events/schemas';

/** A valid submission with defaults; override what the test is about. */
export function aDeploymentRequestInput(overrides: Partial<DeploymentRequestInput> = {}): DeploymentRequestInput & { requester: string } {
  return {
    projectId: 'payments-api',
    componentName: 'checkout',
    version: '1.4.2',
    changes: ['src/checkout/cart.ts'],
    riskIndicators: { codeChanges: 40, filesChanged: 3, testsPassed: true, userImpact: 'low' },
    requester: 'ci-bot',
    ...overrides,
  } as DeploymentRequestInput & { requester: string };
}

/** A stored request as downstream services receive it. */
export function aDeploymentRequest(overrides: Partial<DeploymentRequest> = {}): DeploymentRequest {
  const now = new Date().toISOString();
  return {
    ...aDeploymentRequestInput(),
    requestId: randomUUID(),
    timestamp: now,
    metadata: {},
    receivedAt: now,
    receivedVia: 'http',
    ...overrides,
  };
}

/**
 * A `risk.assessed` payload for a request: every analyzer at `overallScore` unless overridden. Tests that
 * stand in for the risk service publish this instead of spelling the whole assessment.
 */
export function aRiskAssessment(request: DeploymentRequest, overrides: Partial<Omit<RiskAssessed, 'request'>> = {}): RiskAssessed {
  const overallScore = overrides.overallScore ?? 0.2;
  const analyzer = (score: number) => ({ score, confidence: 0.8, factors: [], mitigations: [] });
  const securityScore = overrides.securityScore ?? overallScore;
  const complexityScore = overrides.complexityScore ?? overallScore;
  const impactScore = overrides.impactScore ?? overallScore;
  const historicalScore = overrides.historicalScore ?? overallScore;
  return {
    requestId: request.requestId,
    projectId: request.projectId,
    overallScore,
    securityScore,
    complexityScore,
    impactScore,
    historicalScore,
    confidence: 0.8,
    riskFactors: [],
    mitigationSuggestions: [],
    analyzers: { security: analyzer(securityScore), complexity: analyzer(complexityScore), impact: analyzer(impactScore), historical: analyzer(historicalScore) },
    weights: { security: 0.25, complexity: 0.25, impact: 0.25, historical: 0.25 },
    revision: 1,
    assessedAt: new Date().toISOString(),
    ...overrides,
    request,
  };
}

/** A `decision.made` payload: an approved tier-1 decision unless overridden. */
export function aDecision(overrides: Partial<DecisionMade> & Pick<DecisionMade, 'requestId' | 'projectId'>): DecisionMade {
  return {
    componentName: 'checkout',
    version: '1.0.0',
    outcome: 'PROCEED_WITH_MONITORING',
    approved: true,
    tierLevel: 1,
    triggers: [],
    riskScore: 0.4,
    confidenceScore: 0.8,
    confidence: {
      score: 0.8,
      level: 'high',
      calculationBasis: {
        expertConsensus: 0.8,
        historicalAccuracy: 0.8,
        dataQuality: 0.8,
        riskAdjustment: 0,
        completenessAdjustment: 0,
        baseConfidence: 0.8,
        expertCount: 1,
        riskLevel: 0.4,
      },
    },
    conditions: [],
    monitoringRequirements: [],
    rollbackPlan: null,
    decisionRationale: 'test decision',
    expertReviews: [],
    decidedAt: new Date().toISOString(),
    ...overrides,
  };
}
