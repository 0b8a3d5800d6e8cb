import { z } from 'zod';
import { DeploymentRequest } from './deployment-request';
import { AssignmentRole, AssignmentStatus, ComplianceEvaluated, DecisionMade, FiredTrigger, ReviewRejected, RiskAssessed } from './events/schemas';
import { BreakGlassRequested, DecisionEscalated, EmergencyChange, ReviewCancelled } from './human-loop';
import { DeploymentOutcomeStatus, ExpertId, LIMITS, ExpertKind, ExpertType, IsoDateTime, ProjectId, ReviewDecision, Score, TierLevel, Uuid } from './primitives';

/*
 * What intake's HTTP API answers, as its OpenAPI document describes it. The objects intake builds itself are
 * strict, so that a field added to a response without being described here fails intake's integration test;
 * the parts that are stored events keep their event schemas.
 */

/** Why an assignment was made: `escalation` for a step of the escalation chain, `after-the-fact` for the review of a break-glass approval. */
export const AssignmentPurpose = z.enum(['review', 'escalation', 'after-the-fact']);
export type AssignmentPurpose = z.infer<typeof AssignmentPurpose>;

/** Why an assignment no longer needs an answer; `reason` is null when intake saw only the decision that closed it. */
export const AssignmentCancellation = z.strictObject({
  reason: ReviewCancelled.shape.reason.nullable(),
  cancelledAt: IsoDateTime.nullable(),
  replacedByAssignmentId: Uuid.nullable(),
});

/** A request's escalation, as `decision.escalated` announced it. */
export const EscalationView = DecisionEscalated.pick({ level: true, reason: true, detail: true, expertType: true, assignees: true, dueAt: true, escalatedAt: true }).strict();
export type EscalationView = z.infer<typeof EscalationView>;

/** A break-glass approval asked for a request, as `deployment.break_glass` announced it. */
export const BreakGlassView = BreakGlassRequested.pick({ justification: true, actor: true, requestedAt: true }).strict();

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
  /** Why it was asked: an ordinary review, a step of an escalation, or the review after a break-glass approval. */
  purpose: AssignmentPurpose,
  /** Set once it no longer needs an answer (`review.cancelled`, or the decision closed it). */
  cancellation: AssignmentCancellation.nullable(),
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
  /** The latest escalation (`decision.escalated`): who must decide it, by when. Stays once the decision comes. */
  escalation: EscalationView.nullable(),
  /** A break-glass approval asked for it (`deployment.break_glass`). */
  breakGlass: BreakGlassView.nullable(),
});
export type DeploymentRequestView = z.infer<typeof DeploymentRequestView>;

/** `GET …/decision` while the request is undecided (`202`). */
export const PendingDecision = z.strictObject({
  id: Uuid,
  status: RequestStatus,
  decision: z.null(),
  /** Present while the request waits for a named person after an escalation: who, and by when. */
  escalation: EscalationView.optional(),
});

export const ReviewAccepted = z.strictObject({ requestId: Uuid, assignmentId: Uuid, status: z.literal('submitted') });

export const OutcomeAccepted = z.strictObject({ requestId: Uuid, outcomeId: Uuid, status: DeploymentOutcomeStatus });

/** `POST /v1/deployment-requests/{id}/break-glass` (`202`): the CoE approves it as an emergency change, reviewed after the fact. */
export const BreakGlassAccepted = z.strictObject({ requestId: Uuid, breakGlassId: Uuid, status: z.literal('requested') });

/** `GET /v1/reviews` and `GET /v1/reviews/{assignmentId}`: one assignment as its reviewer needs it. */
export const ReviewInboxItem = z.strictObject({
  assignmentId: Uuid,
  requestId: Uuid,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  requester: z.string(),
  /** The request's changes, the first `LIMITS.inboxChangesShown` of them; `changeCount` says how many there are. */
  changes: z.array(z.string()),
  changeCount: z.number().int().min(0),
  risk: z.strictObject({ overallScore: Score, riskFactors: z.array(z.string()) }).nullable(),
  tierLevel: TierLevel,
  triggers: z.array(FiredTrigger),
  /** What is asked of this expert. */
  asked: z.strictObject({ expertId: ExpertId, expertType: ExpertType, role: AssignmentRole, scope: z.array(z.string()) }),
  purpose: AssignmentPurpose,
  /** For `escalation`: the step this assignment belongs to. */
  escalation: z.strictObject({ level: z.number().int().min(1), reason: DecisionEscalated.shape.reason, detail: z.string() }).nullable(),
  /** For `after-the-fact`: the break-glass approval to review. */
  emergency: EmergencyChange.pick({ justification: true, approvedBy: true }).strict().nullable(),
  status: AssignmentStatus,
  cancellation: AssignmentCancellation.nullable(),
  requestStatus: RequestStatus,
  assignedAt: IsoDateTime,
  slaDueAt: IsoDateTime,
  /** Until `slaDueAt` when the answer is still open (negative once overdue); null once it is not. */
  timeLeftSeconds: z.number().int().nullable(),
});
export type ReviewInboxItem = z.infer<typeof ReviewInboxItem>;

/** `GET /v1/reviews`: one page; `nextCursor` (opaque) asks for the next, null on the last. */
export const ReviewInboxPage = z.strictObject({ items: z.array(ReviewInboxItem), nextCursor: z.string().nullable() });
export type ReviewInboxPage = z.infer<typeof ReviewInboxPage>;

/** Figures of a set of requests over a period (`GET /v1/insights`): decisions, lead time, SLA, change failure, deployments. */
export const DeliveryFigures = z.strictObject({
  /** Decisions made in the period, by outcome. */
  decisionsByOutcome: z.record(z.string(), z.number().int().min(0)),
  decisions: z.number().int().min(0),
  /** Seconds from submission to decision, over the period's decisions; null without any. */
  leadTimeSeconds: z.strictObject({ p50: z.number().nullable(), p90: z.number().nullable() }),
  /** Human and automated answers due in the period: answered by their SLA due time, in percent; null when none were due. */
  slaCompliancePercent: z.number().min(0).max(100).nullable(),
  /** Reported outcomes in the period that failed or were rolled back, in percent; null without reports. */
  changeFailureRatePercent: z.number().min(0).max(100).nullable(),
  /** Outcomes reported as `succeeded` in the period, per day. */
  deploymentsPerDay: z.number().min(0),
});
export type DeliveryFigures = z.infer<typeof DeliveryFigures>;

export const InsightsReport = z.strictObject({
  from: IsoDateTime,
  to: IsoDateTime,
  overall: DeliveryFigures,
  projects: z.array(DeliveryFigures.extend({ projectId: ProjectId })),
  /** Decisions per day over the period, oldest first. */
  daily: z.array(z.strictObject({ day: z.string(), decisions: z.number().int().min(0) })),
  /** Requests waiting on an escalation now (the oversight queue), oldest due first. */
  escalations: z.array(
    z.strictObject({
      requestId: Uuid,
      projectId: ProjectId,
      componentName: z.string(),
      requester: z.string(),
      level: z.number().int().min(1),
      reason: z.string(),
      detail: z.string(),
      dueAt: IsoDateTime.nullable(),
      escalatedAt: IsoDateTime.nullable(),
    }),
  ),
  /** Each expert's open assignments now, overdue ones, and answer times over the period. */
  experts: z.array(
    z.strictObject({
      expertId: ExpertId,
      expertKind: ExpertKind,
      open: z.number().int().min(0),
      overdue: z.number().int().min(0),
      answered: z.number().int().min(0),
      answerSeconds: z.strictObject({ p50: z.number().nullable(), p90: z.number().nullable() }),
    }),
  ),
});
export type InsightsReport = z.infer<typeof InsightsReport>;

/** `GET /v1/me`: the authenticated caller, and the experts they answer for. */
export const CallerView = z.strictObject({
  subject: z.string(),
  issuer: z.string().optional(),
  apiKeyId: z.string().optional(),
  roles: z.array(z.string()),
  projects: z.array(z.string()),
  experts: z.array(ExpertId),
});
export type CallerView = z.infer<typeof CallerView>;
