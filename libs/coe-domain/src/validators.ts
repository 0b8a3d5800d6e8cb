import type { DeploymentRequest, ExpertType } from '@agf/contracts';
import { classifySecurityChanges, detectSecrets } from '@agf/risk-domain';
import type { RiskView, Verdict } from './types';

export interface ValidatorVerdict {
  decision: Verdict;
  comments: string;
  conditions: string[];
  confidence: number;
}

interface Check {
  name: string;
  /** A reason to reject, or undefined when the check passes. */
  failure: (request: DeploymentRequest) => string | undefined;
}

// Blocking checks every built-in validator makes, whatever its type: each is a fact in the request.
const COMMON_CHECKS: Check[] = [
  { name: 'tests passed', failure: (r) => (r.riskIndicators.testsPassed === false ? 'the pipeline reports failing tests' : undefined) },
  {
    name: 'no critical vulnerabilities',
    failure: (r) => {
      const critical = r.riskIndicators.vulnerabilities?.critical ?? 0;
      return critical > 0 ? `${critical} critical vulnerabilit${critical === 1 ? 'y' : 'ies'} must be fixed first` : undefined;
    },
  },
  {
    name: 'no secrets in the change',
    failure: (r) => {
      const secrets = detectSecrets(r.changes);
      return secrets.length ? `secrets detected in the change (${[...new Set(secrets.map((s) => s.kind))].join(', ')})` : undefined;
    },
  },
];

// What each type also looks at; these inform (they are listed) but do not block on their own.
function typeChecks(type: ExpertType, request: DeploymentRequest, risk: RiskView): string[] {
  const indicators = request.riskIndicators;
  switch (type) {
    case 'security': {
      const areas = [...new Set(classifySecurityChanges(request.changes).map((m) => m.area))];
      return [`security areas touched: ${areas.length ? areas.join(', ') : 'none'}`, `security score ${risk.securityScore.toFixed(2)}`];
    }
    case 'architecture':
      return [`complexity score ${risk.complexityScore.toFixed(2)}`, `affected projects: ${(indicators.affectedProjects ?? []).length}`];
    case 'performance':
      return [`impact score ${risk.impactScore.toFixed(2)}`, `user impact: ${indicators.userImpact ?? 'not given'}`];
    case 'compliance':
      return [`compliance scopes: ${(indicators.complianceScopes ?? []).join(', ') || 'none'}`, `personal data: ${indicators.touchesPersonalData ? 'yes' : 'no'}`];
    case 'human_oversight':
      return [];
  }
}

/**
 * A built-in automated validator: it answers at once from the request. Failing tests, critical
 * vulnerabilities or secrets in the change reject with the reason; otherwise it approves and lists what
 * it checked, so the decision's rationale shows the evidence.
 */
export function runBuiltinValidator(input: { expert: { id: string; expertType: ExpertType }; request: DeploymentRequest; risk: RiskView }): ValidatorVerdict {
  const failures = COMMON_CHECKS.map((c) => c.failure(input.request)).filter((f): f is string => f !== undefined);
  if (failures.length) {
    return { decision: 'reject', comments: `Rejected: ${failures.join('; ')}.`, conditions: [], confidence: 0.95 };
  }
  const checks = [...COMMON_CHECKS.map((c) => c.name), ...typeChecks(input.expert.expertType, input.request, input.risk)];
  return { decision: 'approve', comments: `Automated ${input.expert.expertType} checks passed: ${checks.join('; ')}.`, conditions: [], confidence: 0.8 };
}
