import { z } from 'zod';
import { Actor } from '../access';
import { DeploymentRequest } from '../deployment-request';
import { EmergencyChange, EscalationResolution } from '../human-loop';
import {
  DecisionOutcome,
  DeploymentOutcomeStatus,
  ExpertId,
  ExpertKind,
  ExpertType,
  IsoDateTime,
  ProjectId,
  ReviewComments,
  ReviewConditions,
  ReviewDecision,
  Score,
  TierLevel,
  TriggerCondition,
} from '../primitives';

const Text = z.string();
const RequestId = z.uuid();

export const ValidationIssue = z.object({ path: Text, message: Text });
export type ValidationIssue = z.infer<typeof ValidationIssue>;

export const IntakeRejected = z.object({
  projectId: z.union([ProjectId, z.literal('_invalid')]),
  errors: z.array(ValidationIssue),
  receivedAt: IsoDateTime,
  natsMsgId: Text.optional(),
});

export const DeploymentRequested = DeploymentRequest;

export const DeploymentOutcome = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: Text,
  version: Text,
  status: DeploymentOutcomeStatus,
  reportedAt: IsoDateTime,
  details: z.record(z.string(), z.unknown()).optional(),
  /** Who reported it, verified. */
  actor: Actor.optional(),
});

export const AnalyzerResult = z.object({
  score: Score,
  confidence: Score,
  factors: z.array(Text),
  mitigations: z.array(Text),
});
export type AnalyzerResult = z.infer<typeof AnalyzerResult>;

/**
 * The learned defect model's part of an assessment (issue 28): the calibrated probability that the change is
 * defect-inducing, what drove it, and which model said so. `status` says why a request has no probability:
 * no model for its project yet, or a request without the 14 change metrics. Without one it stays neutral.
 */
export const DefectModelFactor = z.object({
  status: z.enum(['applied', 'no-model', 'no-metrics']),
  /** The model version that scored the request (null when none did). */
  version: z.string().max(200).nullable(),
  scope: z.enum(['project', 'cross-project']).nullable(),
  probability: Score.nullable(),
  /** Its weight in the overall score and confidence, relative to the four analyzers' (which sum to 1); 0 when not applied. */
  weight: z.number().min(0),
  /** The model's measured accuracy (ROC AUC) on the most recent outcomes it was validated on. */
  accuracy: Score.nullable(),
  explanation: Text,
  drivers: z.array(Text),
});
export type DefectModelFactor = z.infer<typeof DefectModelFactor>;

export const RiskAssessed = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  overallScore: Score,
  securityScore: Score,
  complexityScore: Score,
  impactScore: Score,
  historicalScore: Score,
  confidence: Score,
  riskFactors: z.array(Text),
  mitigationSuggestions: z.array(Text),
  analyzers: z.object({
    security: AnalyzerResult,
    complexity: AnalyzerResult,
    impact: AnalyzerResult,
    historical: AnalyzerResult,
  }),
  weights: z.object({ security: z.number(), complexity: z.number(), impact: z.number(), historical: z.number() }),
  /** Each time risk re-assesses a request the revision goes up; consumers keep the highest. */
  revision: z.number().int().min(1),
  /** The request as intake stored it, so downstream services need no replica of intake's data. */
  request: DeploymentRequest,
  assessedAt: IsoDateTime,
  /** Absent on assessments made before the learned model existed. */
  defectModel: DefectModelFactor.optional(),
});
export type RiskAssessed = z.infer<typeof RiskAssessed>;

export const AssignmentRole = z.enum(['validator', 'standard', 'strategic', 'oversight']);
export type AssignmentRole = z.infer<typeof AssignmentRole>;

/** `breached`: its SLA passed, it still takes its answer until it is reassigned. */
export const AssignmentStatus = z.enum(['pending', 'completed', 'breached', 'reassigned', 'cancelled']);
export type AssignmentStatus = z.infer<typeof AssignmentStatus>;

export const ReviewAssigned = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  assignmentId: z.uuid(),
  expertId: ExpertId,
  expertType: ExpertType,
  expertKind: ExpertKind,
  role: AssignmentRole,
  scope: z.array(Text),
  tierLevel: TierLevel,
  priority: z.enum(['low', 'normal', 'high', 'critical']),
  slaHours: z.number().positive(),
  assignedAt: IsoDateTime,
  slaDueAt: IsoDateTime,
  /** Set when this assignment replaces one whose SLA was breached. */
  supersedesAssignmentId: z.uuid().optional(),
});
export type ReviewAssigned = z.infer<typeof ReviewAssigned>;

/** Work item for an external automated expert, on a subject of its own (`agf.v1.review.requested.<expertId>`). */
export const ReviewRequested = ReviewAssigned.extend({
  request: DeploymentRequest,
  risk: z.object({ overallScore: Score, riskFactors: z.array(Text) }),
  /** Where to send the answer: an `agf.v1.review.submit.<projectId>` CloudEvent. */
  replySubject: Text,
});
export type ReviewRequested = z.infer<typeof ReviewRequested>;

export const ReviewSubmit = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  assignmentId: z.uuid(),
  expertId: ExpertId,
  decision: ReviewDecision,
  // Bounded like a review over HTTP: the review.completed it leads to carries them to every consumer.
  comments: ReviewComments,
  conditions: ReviewConditions.default([]),
  confidence: Score.optional(),
  submittedAt: IsoDateTime,
  /**
   * Who answered, verified by the door it came through: set by intake for an answer over HTTP. An external
   * expert's answer over NATS carries its credential in the `Authorization` header instead, and the CoE fills this in.
   */
  actor: Actor.optional(),
});
export type ReviewSubmit = z.infer<typeof ReviewSubmit>;

/**
 * Why the CoE did not take an expert's answer; intake's review API names its problem types alike (`not-found`
 * for an unknown request). `invalid-answer`: the answer failed its schema (over HTTP that is a 400 or 422
 * before anything is sent), the reason names the fields.
 */
export const ReviewRejectionCode = z.enum([
  'invalid-answer',
  'unauthenticated',
  'forbidden',
  'unknown-request',
  'unknown-assignment',
  'not-assigned-expert',
  'separation-of-duties',
  'assignment-closed',
  'already-decided',
]);
export type ReviewRejectionCode = z.infer<typeof ReviewRejectionCode>;

/** The fields that say which assignment an answer is for, and whose it is: what a rejection can be addressed by. */
export const ReviewAnswerAddress = ReviewSubmit.pick({ requestId: true, projectId: true, assignmentId: true, expertId: true });
export type ReviewAnswerAddress = z.infer<typeof ReviewAnswerAddress>;

/** A `review.submit` the CoE did not take, named as the answer named itself; `causationid` is the answer's event id. */
export const ReviewRejected = ReviewAnswerAddress.extend({
  code: ReviewRejectionCode,
  reason: Text,
  rejectedAt: IsoDateTime,
});
export type ReviewRejected = z.infer<typeof ReviewRejected>;

export const ReviewCompleted = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  assignmentId: z.uuid(),
  expertId: ExpertId,
  expertType: ExpertType,
  expertKind: ExpertKind,
  decision: ReviewDecision,
  comments: Text,
  conditions: z.array(Text),
  confidence: Score,
  completedAt: IsoDateTime,
  /** The verified principal who answered; absent for the CoE's built-in validators. */
  actor: Actor.optional(),
  /**
   * The assignment, when the expert answered as it was assigned (the CoE's built-in validators): such an
   * assignment has no `review.assigned` of its own, since it was never open (nothing to time, notify or wait for).
   */
  assignment: ReviewAssigned.optional(),
});
export type ReviewCompleted = z.infer<typeof ReviewCompleted>;

export const SlaTimerFired = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  assignmentId: z.uuid(),
  expertId: ExpertId,
  tierLevel: TierLevel,
  assignedAt: IsoDateTime,
  slaDueAt: IsoDateTime,
  dueAt: IsoDateTime,
  firedAt: IsoDateTime,
  /** Fraction of the SLA elapsed when this timer was due: 0.75 for a warning, 1 for a breach. */
  fraction: z.number().positive(),
});
export type SlaTimerFired = z.infer<typeof SlaTimerFired>;

export const FiredTrigger = z.object({ condition: TriggerCondition, reason: Text });
export type FiredTrigger = z.infer<typeof FiredTrigger>;

/** CoE's reading of a request: whether governance applies, which triggers fired and which tier it gets. */
export const ReviewClassified = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  governanceRequired: z.boolean(),
  triggers: z.array(FiredTrigger),
  tierLevel: TierLevel,
  tierReasons: z.array(Text),
  classifiedAt: IsoDateTime,
});
export type ReviewClassified = z.infer<typeof ReviewClassified>;

export const ConfidenceScore = z.object({
  score: Score,
  level: z.enum(['very_low', 'low', 'medium', 'high', 'very_high']),
  calculationBasis: z.object({
    expertConsensus: Score,
    historicalAccuracy: Score,
    dataQuality: Score,
    riskAdjustment: z.number(),
    completenessAdjustment: z.number(),
    baseConfidence: Score,
    expertCount: z.number().int().min(0),
    riskLevel: Score,
  }),
});
export type ConfidenceScore = z.infer<typeof ConfidenceScore>;

export const MonitoringRequirement = z.object({
  metric: Text,
  comparison: z.enum(['above', 'below']),
  threshold: z.number(),
  unit: Text,
  durationMinutes: z.number().int().positive(),
  reason: Text,
});
export type MonitoringRequirement = z.infer<typeof MonitoringRequirement>;

export const RollbackPlan = z.object({
  source: z.enum(['pipeline', 'generated']),
  previousVersion: Text.nullable(),
  steps: z.array(Text),
  triggerConditions: z.array(Text),
  maxDurationMinutes: z.number().int().positive(),
});
export type RollbackPlan = z.infer<typeof RollbackPlan>;

export const ExpertReview = z.object({
  assignmentId: z.uuid(),
  expertId: ExpertId,
  expertType: ExpertType,
  expertKind: ExpertKind,
  status: z.enum(['pending', 'completed', 'breached', 'reassigned', 'cancelled']),
  decision: ReviewDecision.nullable(),
  comments: Text,
  conditions: z.array(Text),
  confidence: Score.nullable(),
  completionTime: IsoDateTime.nullable(),
});
export type ExpertReview = z.infer<typeof ExpertReview>;

export const DecisionMade = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: Text,
  version: Text,
  outcome: DecisionOutcome,
  approved: z.boolean(),
  tierLevel: TierLevel,
  triggers: z.array(FiredTrigger),
  riskScore: Score,
  confidenceScore: Score,
  confidence: ConfidenceScore,
  conditions: z.array(Text),
  monitoringRequirements: z.array(MonitoringRequirement),
  rollbackPlan: RollbackPlan.nullable(),
  decisionRationale: Text,
  expertReviews: z.array(ExpertReview),
  decidedAt: IsoDateTime,
  /** Present when a person decided it after an escalation (`decision.escalated`). */
  escalation: EscalationResolution.optional(),
  /** Present on a break-glass approval: an emergency change, reviewed after the fact. */
  emergency: EmergencyChange.optional(),
  /** True when the project runs AGF in shadow mode: decided as usual, but no gate holds the deployment. */
  shadow: z.boolean().optional(),
  /**
   * Set when the CoE classified and decided the request in one step (no trigger fired, or built-in validators
   * alone reviewed it): the classification, and those reviews with their assignments. Nobody waited on them in
   * between, so they have no `review.classified` or `review.completed` of their own.
   */
  classification: ReviewClassified.optional(),
  validatorReviews: z.array(ReviewCompleted).optional(),
});
export type DecisionMade = z.infer<typeof DecisionMade>;

/** A decision as stored and shown: without the classification and reviews it carries when decided in one step. */
export function decisionAlone(decision: DecisionMade): DecisionMade {
  const { classification: _classification, validatorReviews: _reviews, ...alone } = decision;
  return alone;
}

export const HistoryStats = z.object({
  deployments: z.number().int().min(0),
  failures: z.number().int().min(0),
  rollbacks: z.number().int().min(0),
  failureRate: Score,
  rollbackRate: Score,
  lastFailureAt: IsoDateTime.nullable(),
  recentIncidents: z.number().int().min(0),
});
export type HistoryStats = z.infer<typeof HistoryStats>;

export const LearningModelUpdated = z.object({
  projectId: ProjectId,
  componentName: Text,
  project: HistoryStats,
  component: HistoryStats,
  /** Bumped on every change of this project's history; a replica keeps the highest it has seen. */
  revision: z.number().int().min(1),
  cause: z.object({ requestId: RequestId, kind: z.enum(['decision', 'outcome']) }),
  updatedAt: IsoDateTime,
});
export type LearningModelUpdated = z.infer<typeof LearningModelUpdated>;

/**
 * A trained defect model that passed its checks (issue 28). `projectId` is null for the cross-project model.
 * `model` is the model itself (model-domain's RiskModel JSON), checked by the receiver before use.
 */
export const RiskModelPublished = z.object({
  version: z.string().min(1).max(200),
  projectId: ProjectId.nullable(),
  /** Orders the models of one scope: a receiver keeps the highest. */
  sequence: z.number().int().min(1),
  trainingRows: z.number().int().min(0),
  validationAuc: Score,
  validationBrier: Score,
  model: z.record(z.string(), z.unknown()),
  publishedAt: IsoDateTime,
});
export type RiskModelPublished = z.infer<typeof RiskModelPublished>;

export const LearningPatternCaptured = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: Text,
  features: z.record(z.string(), z.number()),
  riskScore: Score,
  tierLevel: TierLevel,
  decisionOutcome: DecisionOutcome,
  deploymentOutcome: DeploymentOutcomeStatus.nullable(),
  capturedAt: IsoDateTime,
});

export const ControlEvaluation = z.object({
  framework: Text,
  control: Text,
  status: z.enum(['pass', 'fail', 'pending', 'not_applicable']),
  reason: Text,
});
export type ControlEvaluation = z.infer<typeof ControlEvaluation>;

export const ComplianceEvaluated = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  passed: z.boolean(),
  /** True while a control waits for something still to come (e.g. an approval). */
  pending: z.boolean(),
  controls: z.array(ControlEvaluation),
  /** The completed reviews this evaluation saw; coe only trusts an evaluation that saw all of them. */
  basedOnAssignments: z.array(z.uuid()),
  evaluatedAt: IsoDateTime,
});
export type ComplianceEvaluated = z.infer<typeof ComplianceEvaluated>;
