import { aDeploymentRequest } from '@agf/contracts/testing';
import { AuthPolicy, EscalationPolicy, type GovernancePolicy } from '@agf/policy';
import { detectTriggers, runBuiltinValidator, type RiskView } from './index';

const policy = {
  governance: { enabled: true, trigger_conditions: ['CRITICAL_DEPLOYMENT'] },
  monitoring: { alerts: { critical_threshold: 0.8, warning_threshold: 0.6, notification_channels: [] } },
  auth: AuthPolicy.parse({}),
  escalation: EscalationPolicy.parse({}),
} as unknown as GovernancePolicy;

const lowRisk = (testsPassed: boolean) => aDeploymentRequest({ changes: ['src/cart.ts'], riskIndicators: { codeChanges: 5, filesChanged: 1, userImpact: 'low', testsPassed } });

describe('a change whose pipeline reports failing tests', () => {
  it('needs governance however low its risk, and the built-in validators block it', () => {
    const triggers = detectTriggers({ request: lowRisk(false), overallScore: 0.1, policy });
    expect(triggers).toEqual([{ condition: 'CRITICAL_DEPLOYMENT', reason: 'the pipeline reports failing tests' }]);
    const verdict = runBuiltinValidator({ expert: { id: 'perf_agent_1', expertType: 'performance' }, request: lowRisk(false), risk: {} as RiskView });
    expect(verdict.decision).toBe('reject');
    expect(verdict.comments).toContain('failing tests');
  });

  it('passing tests fire nothing on their own', () => {
    expect(detectTriggers({ request: lowRisk(true), overallScore: 0.1, policy })).toEqual([]);
  });
});
