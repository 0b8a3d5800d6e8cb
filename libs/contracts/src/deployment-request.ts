import { z } from 'zod';
import { Actor } from './access';
import { IsoDateTime, LIMITS, ProjectId, ReviewComments, ReviewConditions, ShortText } from './primitives';

const Count = z.number().int().min(0);
const Metric = z.number().finite().min(0);

/**
 * Signals a pipeline sends with a request. Every key is optional; unknown keys are kept, so a team can
 * send more than AGF reads today. The 14 change metrics are Kamei et al.'s just-in-time defect features.
 */
export const RiskIndicators = z.looseObject({
  codeChanges: Count.optional(),
  filesChanged: Count.optional(),
  securitySensitive: z.boolean().optional(),
  userImpact: z.enum(['low', 'medium', 'high', 'critical']).optional(),
  touchesPersonalData: z.boolean().optional(),
  testsPassed: z.boolean().optional(),
  vulnerabilities: z
    .strictObject({ critical: Count.optional(), high: Count.optional(), medium: Count.optional(), low: Count.optional() })
    .optional(),
  affectedProjects: z.array(ProjectId).max(LIMITS.listItems).optional(),
  completionPercentage: z.number().min(0).max(100).optional(),
  complianceScopes: z.array(z.string().min(1).max(64)).max(LIMITS.listItems).optional(),
  ns: Metric.optional(),
  nd: Metric.optional(),
  nf: Metric.optional(),
  entropy: Metric.optional(),
  la: Metric.optional(),
  ld: Metric.optional(),
  lt: Metric.optional(),
  fix: z.union([z.boolean(), z.literal(0), z.literal(1)]).optional(),
  ndev: Metric.optional(),
  age: Metric.optional(),
  nuc: Metric.optional(),
  exp: Metric.optional(),
  rexp: Metric.optional(),
  sexp: Metric.optional(),
});
export type RiskIndicators = z.infer<typeof RiskIndicators>;

/** What a pipeline submits (HTTP body of `POST /v1/deployment-requests`, or the `agf.v1.intake.submit` payload). */
export const DeploymentRequestInput = z.strictObject({
  projectId: ProjectId,
  componentName: ShortText,
  version: z.string().min(1).max(128),
  changes: z.array(z.string().max(LIMITS.changeText)).max(LIMITS.changes),
  riskIndicators: RiskIndicators,
  /** Optional: the requester is the authenticated principal's subject; a different one is refused. */
  requester: ShortText.optional(),
  timestamp: IsoDateTime.optional(),
  metadata: z.record(z.string().max(LIMITS.shortText), z.unknown()).optional(),
});
export type DeploymentRequestInput = z.infer<typeof DeploymentRequestInput>;

/** A stored request as other services see it: the input plus the id and times AGF gave it. */
export const DeploymentRequest = DeploymentRequestInput.extend({
  requestId: z.uuid(),
  requester: ShortText,
  /** The verified identity that submitted it (absent on requests stored before identity existed). */
  actor: Actor.optional(),
  timestamp: IsoDateTime,
  metadata: z.record(z.string(), z.unknown()),
  receivedAt: IsoDateTime,
  receivedVia: z.enum(['http', 'nats']),
});
export type DeploymentRequest = z.infer<typeof DeploymentRequest>;

export const ReviewSubmissionInput = z.strictObject({
  assignmentId: z.uuid(),
  expertId: z.string().min(1).max(128),
  decision: z.enum(['approve', 'reject', 'conditional']),
  comments: ReviewComments,
  conditions: ReviewConditions.optional(),
  confidence: z.number().min(0).max(1).optional(),
});
export type ReviewSubmissionInput = z.infer<typeof ReviewSubmissionInput>;

export const OutcomeReportInput = z.strictObject({
  status: z.enum(['succeeded', 'failed', 'rolled_back']),
  reportedAt: IsoDateTime.optional(),
  details: z.record(z.string().max(LIMITS.shortText), z.unknown()).optional(),
});
export type OutcomeReportInput = z.infer<typeof OutcomeReportInput>;
