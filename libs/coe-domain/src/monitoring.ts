import type { DeploymentRequest, MonitoringRequirement, RollbackPlan, TierLevel } from '@agf/contracts';
import type { RiskView } from './types';

/**
 * What to watch after an approved deployment, derived from what made it risky: the riskier, the tighter
 * the thresholds and the longer the watch.
 */
export function monitoringRequirementsFor(request: DeploymentRequest, risk: RiskView): MonitoringRequirement[] {
  const overall = risk.overallScore;
  const durationMinutes = overall >= 0.7 ? 240 : overall >= 0.4 ? 120 : 60;
  const requirements: MonitoringRequirement[] = [
    {
      metric: 'http_error_rate',
      comparison: 'above',
      threshold: overall >= 0.7 ? 0.5 : 1,
      unit: '%',
      durationMinutes,
      reason: `baseline for every approved deployment (risk ${overall.toFixed(2)})`,
    },
  ];
  const impact = request.riskIndicators.userImpact;
  if (risk.impactScore >= 0.4 || impact === 'high' || impact === 'critical') {
    requirements.push({ metric: 'http_latency_p99', comparison: 'above', threshold: 500, unit: 'ms', durationMinutes, reason: `user impact ${impact ?? 'elevated'} (impact score ${risk.impactScore.toFixed(2)})` });
  }
  if (risk.securityScore >= 0.4) {
    requirements.push({ metric: 'auth_failure_rate', comparison: 'above', threshold: 2, unit: '%', durationMinutes, reason: `security score ${risk.securityScore.toFixed(2)}: ${risk.analyzers.security.factors.slice(0, 2).join('; ') || 'security-sensitive change'}` });
  }
  if (risk.complexityScore >= 0.5) {
    requirements.push({ metric: 'process_restarts', comparison: 'above', threshold: 0, unit: 'count', durationMinutes, reason: `complex change (complexity score ${risk.complexityScore.toFixed(2)})` });
  }
  if (request.riskIndicators.touchesPersonalData) {
    requirements.push({ metric: 'personal_data_access_anomalies', comparison: 'above', threshold: 0, unit: 'count', durationMinutes, reason: 'the change touches personal data' });
  }
  if (risk.historicalScore >= 0.5) {
    requirements.push({ metric: 'deployment_health_score', comparison: 'below', threshold: 0.95, unit: 'ratio', durationMinutes, reason: `history of failures or rollbacks (historical score ${risk.historicalScore.toFixed(2)})` });
  }
  return requirements;
}

/**
 * The pipeline's own rollback plan (`metadata.rollback`) when it gives a usable one; otherwise a generated
 * plan back to `metadata.previousVersion` (or the last known good version), triggered by the monitoring
 * thresholds.
 */
export function rollbackPlanFor(request: DeploymentRequest, tier: TierLevel, monitoring: MonitoringRequirement[]): RollbackPlan {
  const given = request.metadata['rollback'];
  const previous = typeof request.metadata['previousVersion'] === 'string' ? (request.metadata['previousVersion'] as string) : null;
  const triggerConditions = monitoring.map((m) => `${m.metric} ${m.comparison} ${m.threshold}${m.unit === '%' ? '%' : ` ${m.unit}`} for 5 minutes`);
  const maxDurationMinutes = tier === 2 ? 30 : 15;
  if (given && typeof given === 'object' && !Array.isArray(given)) {
    const plan = given as Record<string, unknown>;
    const steps = strings(plan['steps']);
    if (steps.length) {
      return {
        source: 'pipeline',
        previousVersion: typeof plan['previousVersion'] === 'string' ? plan['previousVersion'] : previous,
        steps,
        triggerConditions: strings(plan['triggerConditions']).length ? strings(plan['triggerConditions']) : triggerConditions,
        maxDurationMinutes: positiveInt(plan['maxDurationMinutes']) ?? maxDurationMinutes,
      };
    }
  }
  if (typeof given === 'string' && given.trim()) {
    return { source: 'pipeline', previousVersion: previous, steps: [given.trim()], triggerConditions, maxDurationMinutes };
  }
  const target = previous ? `version ${previous}` : 'the last known good version';
  return {
    source: 'generated',
    previousVersion: previous,
    steps: [
      `Redeploy ${target} of ${request.componentName} with the same pipeline`,
      'Confirm health checks pass and the monitored metrics return to their baseline',
      `Report the rollback: POST /v1/deployment-requests/${request.requestId}/outcome {"status":"rolled_back"}`,
    ],
    triggerConditions,
    maxDurationMinutes,
  };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string' && s.length > 0) : [];
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
