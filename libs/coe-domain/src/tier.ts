import type { DeploymentRequest, FiredTrigger, TierLevel } from '@agf/contracts';
import type { GovernancePolicy } from '@agf/policy';

export interface TierInput {
  overallScore: number;
  request: DeploymentRequest;
  triggers: FiredTrigger[];
  policy: Pick<GovernancePolicy, 'governance'>;
}

export interface TierClassification {
  tier: TierLevel;
  reasons: string[];
}

/**
 * The tier from `tier_thresholds`, then raised (never lowered) by minimum-tier rules for signals a score
 * can average away: a critical vulnerability, another project's exposure, a critical DOMINO completion.
 */
export function classifyTier({ overallScore, request, triggers, policy }: TierInput): TierClassification {
  const thresholds = policy.governance.tier_thresholds;
  const score = overallScore.toFixed(2);
  let tier: TierLevel;
  const reasons: string[] = [];
  if (overallScore <= thresholds.tier_0_max_risk) {
    tier = 0;
    reasons.push(`risk ${score} ≤ tier 0 maximum ${thresholds.tier_0_max_risk}`);
  } else if (overallScore <= thresholds.tier_1_max_risk) {
    tier = 1;
    reasons.push(`risk ${score} ≤ tier 1 maximum ${thresholds.tier_1_max_risk}`);
  } else {
    tier = 2;
    reasons.push(`risk ${score} > tier 1 maximum ${thresholds.tier_1_max_risk}`);
  }
  const fired = new Set(triggers.map((t) => t.condition));
  const indicators = request.riskIndicators;
  const atLeast = (minimum: TierLevel, reason: string) => {
    if (tier < minimum) {
      tier = minimum;
      reasons.push(`raised to tier ${minimum}: ${reason}`);
    }
  };
  const critical = indicators.vulnerabilities?.critical ?? 0;
  if (critical > 0) atLeast(1, `${critical} critical vulnerabilit${critical === 1 ? 'y' : 'ies'}`);
  if (fired.has('CROSS_PROJECT_IMPACT')) atLeast(1, 'the change affects other projects');
  if (fired.has('DOMINO_COMPLETE') && indicators.userImpact === 'critical') atLeast(2, 'DOMINO completion with critical user impact');
  return { tier, reasons };
}
