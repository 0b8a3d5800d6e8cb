import type { ComplianceEvaluated, ConfidenceScore, DecisionMade, DeploymentRequest, ExpertReview, FiredTrigger, TierLevel } from '@agf/contracts';
import { calculateConfidence } from './confidence';
import { monitoringRequirementsFor, rollbackPlanFor } from './monitoring';
import type { AssignmentState, RiskView } from './types';

export type DecisionDraft = Omit<DecisionMade, 'requestId' | 'projectId'>;

export interface ComplianceState {
  /** COMPLIANCE_REQUIRED fired, so an approval needs a passing evaluation. */
  required: boolean;
  evaluation?: ComplianceEvaluated;
}

/**
 * Whether the CoE can decide now: a reject decides at once (there is no point keeping reviewers busy);
 * otherwise every assignment must be answered (none pending) and, when compliance is required, the latest
 * evaluation must have seen every completed review and be final.
 */
export function isReadyToDecide(assignments: AssignmentState[], compliance: ComplianceState): boolean {
  const completed = assignments.filter((a) => a.status === 'completed');
  if (completed.some((a) => a.decision === 'reject')) return true;
  if (!completed.length || assignments.some((a) => a.status === 'pending')) return false;
  if (!compliance.required) return true;
  return complianceSettled(completed, compliance.evaluation);
}

function complianceSettled(completed: AssignmentState[], evaluation: ComplianceEvaluated | undefined): boolean {
  if (!evaluation || evaluation.pending) return false;
  const seen = new Set(evaluation.basedOnAssignments);
  return completed.every((a) => seen.has(a.assignmentId));
}

export interface DecideInput {
  request: DeploymentRequest;
  risk: RiskView;
  tier: TierLevel;
  triggers: FiredTrigger[];
  assignments: AssignmentState[];
  compliance: ComplianceState;
  /** Set when an SLA breach or an unfillable role left nobody to decide: a human must. */
  forcedEscalation?: string;
  confidence: ConfidenceScore;
  minConfidence: number;
  now: Date;
}

/**
 * The governance decision, in this order: any reject blocks with every reviewer's feedback; a forced
 * escalation goes to a human; a failed compliance evaluation blocks; a confidence below `min_confidence`
 * goes to a human; otherwise the deployment proceeds with monitoring (and the reviewers' conditions).
 */
export function decide(input: DecideInput): DecisionDraft {
  const { request, risk, tier, triggers, assignments, confidence } = input;
  const completed = assignments.filter((a) => a.status === 'completed');
  const rejects = completed.filter((a) => a.decision === 'reject');
  const conditions = [...new Set(completed.flatMap((a) => (a.decision === 'conditional' ? a.conditions : [])))];
  const context = `Tier ${tier} review of ${request.componentName} ${request.version} (risk ${risk.overallScore.toFixed(2)}; ${triggerText(triggers)}).`;
  const reviewsText = completed.length ? ` Reviews: ${completed.map(reviewText).join(' ')}` : ' No review came in.';
  const confidenceText = ` Confidence ${confidence.score.toFixed(2)} (${confidence.level}).`;
  const base = {
    componentName: request.componentName,
    version: request.version,
    tierLevel: tier,
    triggers,
    riskScore: risk.overallScore,
    confidenceScore: confidence.score,
    confidence,
    expertReviews: assignments.map(toExpertReview),
    decidedAt: input.now.toISOString(),
  };
  const stop = (outcome: 'BLOCK_WITH_FEEDBACK' | 'ESCALATE_TO_HUMAN', why: string, required: string[]): DecisionDraft => ({
    ...base,
    outcome,
    approved: false,
    conditions: required,
    monitoringRequirements: [],
    rollbackPlan: null,
    decisionRationale: `${why} ${context}${reviewsText}${confidenceText}`,
  });

  if (rejects.length) {
    return stop(
      'BLOCK_WITH_FEEDBACK',
      `Blocked: ${rejects.length} of ${completed.length} review${completed.length === 1 ? '' : 's'} rejected the deployment.`,
      rejects.map((r) => `${r.expertId}: ${r.comments ?? 'rejected'}`),
    );
  }
  if (input.forcedEscalation) return stop('ESCALATE_TO_HUMAN', `Escalated to a human: ${input.forcedEscalation}.`, []);
  const evaluation = input.compliance.evaluation;
  if (input.compliance.required && evaluation && !evaluation.passed) {
    const failed = evaluation.controls.filter((c) => c.status === 'fail');
    return stop(
      'BLOCK_WITH_FEEDBACK',
      `Blocked: compliance evaluation failed (${failed.map((c) => `${c.framework} ${c.control}`).join(', ') || 'no passing evaluation'}).`,
      failed.map((c) => `${c.framework} ${c.control}: ${c.reason}`),
    );
  }
  if (confidence.score < input.minConfidence) {
    return stop('ESCALATE_TO_HUMAN', `Escalated to a human: confidence ${confidence.score.toFixed(2)} is below the minimum ${input.minConfidence}.`, []);
  }
  const monitoringRequirements = monitoringRequirementsFor(request, risk);
  const approvedText = conditions.length ? `Approved with ${conditions.length} condition${conditions.length === 1 ? '' : 's'}.` : 'Approved by every reviewer.';
  return {
    ...base,
    outcome: 'PROCEED_WITH_MONITORING',
    approved: true,
    conditions,
    monitoringRequirements,
    rollbackPlan: rollbackPlanFor(request, tier, monitoringRequirements),
    decisionRationale: `${approvedText} ${context}${reviewsText}${confidenceText} Watch ${monitoringRequirements.map((m) => m.metric).join(', ')}.`,
  };
}

/** No trigger fired (or governance is off): a standard deployment, still with a watch and a way back. */
export function decideWithoutGovernance(input: { request: DeploymentRequest; risk: RiskView; now: Date; governanceEnabled?: boolean }): DecisionDraft {
  const { request, risk } = input;
  const confidence = calculateConfidence({
    riskScore: risk.overallScore,
    reviews: [],
    expectedReviews: 0,
    historicalAccuracy: risk.analyzers.historical.confidence,
    dataQuality: risk.confidence,
  });
  const monitoringRequirements = monitoringRequirementsFor(request, risk);
  const why = input.governanceEnabled === false ? 'Governance is disabled in the policy' : 'No trigger condition fired';
  return {
    componentName: request.componentName,
    version: request.version,
    outcome: 'PROCEED_STANDARD',
    approved: true,
    tierLevel: 0,
    triggers: [],
    riskScore: risk.overallScore,
    confidenceScore: confidence.score,
    confidence,
    conditions: [],
    monitoringRequirements,
    rollbackPlan: rollbackPlanFor(request, 0, monitoringRequirements),
    decisionRationale: `${why} (risk ${risk.overallScore.toFixed(2)}${risk.riskFactors.length ? `: ${risk.riskFactors.slice(0, 3).join('; ')}` : ''}); standard deployment of ${request.componentName} ${request.version}.`,
    expertReviews: [],
    decidedAt: input.now.toISOString(),
  };
}

function triggerText(triggers: FiredTrigger[]): string {
  return triggers.length ? `triggers: ${triggers.map((t) => `${t.condition} (${t.reason})`).join(', ')}` : 'no trigger';
}

function reviewText(a: AssignmentState): string {
  const verb = a.decision === 'approve' ? 'approved' : a.decision === 'reject' ? 'rejected' : 'approved with conditions';
  const conditions = a.decision === 'conditional' && a.conditions.length ? ` [${a.conditions.join('; ')}]` : '';
  return `${a.expertId} (${a.expertType}) ${verb}${a.comments ? `: ${a.comments}` : '.'}${conditions}`;
}

export function toExpertReview(a: AssignmentState): ExpertReview {
  return {
    assignmentId: a.assignmentId,
    expertId: a.expertId,
    expertType: a.expertType,
    expertKind: a.expertKind,
    status: a.status,
    decision: a.decision,
    comments: a.comments ?? '',
    conditions: a.conditions,
    confidence: a.confidence,
    completionTime: a.completedAt,
  };
}
