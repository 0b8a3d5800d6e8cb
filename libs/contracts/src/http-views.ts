import { z } from 'zod';
import { DeploymentRequest } from './deployment-request';
import { AssignmentRole, AssignmentStatus, ComplianceEvaluated, DecisionMade, FiredTrigger, ReviewRejected, RiskAssessed } from './events/schemas';
import { DeploymentOutcomeStatus, ExpertId, LIMITS, ExpertKind, ExpertType, IsoDateTime, ProjectId, ReviewDecision, TierLevel, Uuid } from './primitives';

/*
 * What intake's HTTP API answers, as its OpenAPI document describes it. The objects intake builds itself are
 * strict, so that a field added to a response without being described here fails intake's integration test;
 * the parts that are stored events keep their event schemas.
 */

export const RequestStatus = z.enum(['received', 'assessing', 'in_review', 'decided']);
export type RequestStatus = z.infer<typeof RequestStatus>;

export const SubmissionAccepted = z.strictObject({ id: Uuid, status: RequestStatus });

export const AssignmentView = z.strictObject({
  id: Uuid,
  expertId: ExpertId,
  expertType: ExpertType,
  expertKind: ExpertKind,
  role: AssignmentRole,
  status: AssignmentStatus,
  tierLevel: TierLevel,
  assignedAt: IsoDateTime,
  slaDueAt: IsoDateTime,
  supersedesAssignmentId: Uuid.nullable(),
  slaWarnedAt: IsoDateTime.nullable(),
  slaBreachedAt: IsoDateTime.nullable(),
});

export const ReviewView = z.strictObject({
  assignmentId: Uuid,
  expertId: ExpertId,
  expertType: ExpertType,
  decision: ReviewDecision,
  comments: z.string(),
  conditions: z.array(z.string()),
  completedAt: IsoDateTime.nullable(),
});

/**
 * An expert's answer the CoE did not take (`review.rejected`): one that intake passed on (its `202` only says
 * the answer was sent) and that became void before the CoE got it, or one sent over NATS.
 */
export const RejectedAnswerView = ReviewRejected.pick({ assignmentId: true, expertId: true, code: true, reason: true, rejectedAt: true }).strict();

/** `GET /v1/deployment-requests/{id}`: the whole story of a request so far; what is not known yet is null. */
export const DeploymentRequestView = z.strictObject({
  id: Uuid,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  requester: z.string(),
  status: RequestStatus,
  request: DeploymentRequest,
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  riskAssessment: RiskAssessed.omit({ request: true }).nullable(),
  triggers: z.array(FiredTrigger).nullable(),
  tierLevel: TierLevel.nullable(),
  tierReasons: z.array(z.string()).nullable(),
  assignments: z.array(AssignmentView),
  reviews: z.array(ReviewView),
  /** The latest answers the CoE did not take, oldest first (at most `LIMITS.rejectedAnswersShown`). */
  rejectedAnswers: z.array(RejectedAnswerView).max(LIMITS.rejectedAnswersShown),
  compliance: ComplianceEvaluated.nullable(),
  decision: DecisionMade.nullable(),
});
export type DeploymentRequestView = z.infer<typeof DeploymentRequestView>;

/** `GET …/decision` while the request is undecided (`202`). */
export const PendingDecision = z.strictObject({ id: Uuid, status: RequestStatus, decision: z.null() });

export const ReviewAccepted = z.strictObject({ requestId: Uuid, assignmentId: Uuid, status: z.literal('submitted') });

export const OutcomeAccepted = z.strictObject({ requestId: Uuid, outcomeId: Uuid, status: DeploymentOutcomeStatus });
