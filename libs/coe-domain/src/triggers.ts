import type { DeploymentRequest, FiredTrigger, TriggerCondition } from '@agf/contracts';
import type { GovernancePolicy } from '@agf/policy';
import { classifySecurityChanges } from '@agf/risk-domain';

export interface TriggerInput {
  request: DeploymentRequest;
  overallScore: number;
  policy: Pick<GovernancePolicy, 'governance' | 'monitoring'>;
}

type Detector = (input: TriggerInput) => string | undefined;

const DETECTORS: Record<TriggerCondition, Detector> = {
  DOMINO_COMPLETE: ({ request }) => {
    const completion = request.riskIndicators.completionPercentage;
    if (completion !== undefined && completion >= 100) return `completion at ${completion}%`;
    if (request.metadata['completionMode'] === 'DOMINO') return 'metadata.completionMode is DOMINO';
    return undefined;
  },
  CRITICAL_DEPLOYMENT: ({ request, overallScore, policy }) => {
    const threshold = policy.monitoring.alerts.critical_threshold;
    if (overallScore >= threshold) return `overall risk ${overallScore.toFixed(2)} ≥ critical threshold ${threshold}`;
    if (request.riskIndicators.userImpact === 'critical') return 'critical user impact';
    // A build whose tests fail must not ship unreviewed, however small: the validators then block it.
    if (request.riskIndicators.testsPassed === false) return 'the pipeline reports failing tests';
    return undefined;
  },
  SECURITY_CHANGE: ({ request }) => {
    const indicators = request.riskIndicators;
    const reasons: string[] = [];
    if (indicators.securitySensitive) reasons.push('marked security-sensitive');
    const areas = [...new Set(classifySecurityChanges(request.changes).map((m) => m.area))];
    if (areas.length) reasons.push(`changes touch ${areas.join(', ')}`);
    const vulnerable = Object.values(indicators.vulnerabilities ?? {}).reduce((sum, n) => sum + (n ?? 0), 0);
    if (vulnerable > 0) reasons.push(`${vulnerable} known vulnerabilit${vulnerable === 1 ? 'y' : 'ies'} in dependencies`);
    return reasons.length ? reasons.join('; ') : undefined;
  },
  COMPLIANCE_REQUIRED: ({ request }) => {
    const reasons: string[] = [];
    const scopes = request.riskIndicators.complianceScopes ?? [];
    if (scopes.length) reasons.push(`compliance scopes ${scopes.join(', ')}`);
    if (request.riskIndicators.touchesPersonalData) reasons.push('touches personal data');
    return reasons.length ? reasons.join('; ') : undefined;
  },
  CROSS_PROJECT_IMPACT: ({ request }) => {
    const others = (request.riskIndicators.affectedProjects ?? []).filter((p) => p !== request.projectId);
    return others.length ? `affects ${others.length} other project${others.length === 1 ? '' : 's'}: ${others.join(', ')}` : undefined;
  },
};

/**
 * The PRD's five trigger conditions, each only when switched on in `governance.trigger_conditions`.
 * An empty result means no governance: the request proceeds as a standard deployment.
 */
export function detectTriggers(input: TriggerInput): FiredTrigger[] {
  if (!input.policy.governance.enabled) return [];
  const fired: FiredTrigger[] = [];
  for (const condition of input.policy.governance.trigger_conditions) {
    const reason = DETECTORS[condition](input);
    if (reason) fired.push({ condition, reason });
  }
  return fired;
}
