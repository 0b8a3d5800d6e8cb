import { z } from 'zod';
import { Actor } from './access';
import { IsoDateTime, ProjectId, Score } from './primitives';

const RequestId = z.uuid();

/** What a pipeline (or Flagger / Argo through AGF's gates) says about a rollout's progress. */
export const RolloutPhase = z.enum(['started', 'progressing', 'completed', 'aborted', 'rolled-back']);
export type RolloutPhase = z.infer<typeof RolloutPhase>;

/** Body of `POST /v1/deployment-requests/{id}/rollout`. */
export const RolloutReportInput = z.strictObject({
  phase: RolloutPhase,
  /** Share of traffic or replicas on the new version, 0..100. */
  percent: z.number().min(0).max(100).optional(),
});
export type RolloutReportInput = z.infer<typeof RolloutReportInput>;

/** Signal names are short metric-like tokens: `error_rate`, `latency_p99_ms`, `saturation`, or a custom one. */
export const SignalName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected [a-z][a-z0-9_]{0,63}');

/** Body of `POST /v1/deployment-requests/{id}/signals`: one health reading. */
export const SignalInput = z.strictObject({
  name: SignalName,
  value: z.number().finite(),
  unit: z.string().min(1).max(16).optional(),
  at: IsoDateTime.optional(),
});
export type SignalInput = z.infer<typeof SignalInput>;

/** The state of a rollout as AGF guards it. */
export const RolloutStatus = z.enum(['not-started', 'in-progress', 'paused', 'rollback-requested', 'completed', 'aborted', 'rolled-back']);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

/** The verdict of one evaluation: `inconclusive` whenever a criterion has no fresh reading (no data is never healthy). */
export const RolloutVerdict = z.enum(['healthy', 'failing', 'inconclusive']);
export type RolloutVerdict = z.infer<typeof RolloutVerdict>;

/** One criterion checked against the signals: from the decision's monitoring requirements or its rollback plan. */
export const CriterionResult = z.object({
  metric: z.string(),
  comparison: z.enum(['above', 'below']),
  threshold: z.number(),
  unit: z.string(),
  source: z.enum(['monitoring-requirement', 'rollback-criterion']),
  /** The reading compared, in the criterion's unit; null when there was no fresh one. */
  observed: z.number().nullable(),
  signal: z.string().nullable(),
  status: z.enum(['pass', 'fail', 'no-data']),
});
export type CriterionResult = z.infer<typeof CriterionResult>;

/** A rollout started, progressed, paused, finished: the lifecycle for the audit trail. */
export const RolloutProgressed = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  phase: z.union([RolloutPhase, z.literal('paused')]),
  status: RolloutStatus,
  percent: z.number().min(0).max(100).nullable(),
  emergency: z.boolean(),
  reason: z.string().optional(),
  actor: Actor.optional(),
  at: IsoDateTime,
});

/**
 * A re-assessment revision published at each evaluation while a rollout runs: the pre-deployment risk with the
 * live signals as one more factor. `revision` goes up by one per evaluation of the request.
 */
export const RolloutEvaluated = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  revision: z.number().int().min(1),
  verdict: RolloutVerdict,
  /** The score risk gave before the deployment. */
  preDeploymentScore: Score,
  /** Pre-deployment score raised by what the live signals show (1 when a criterion fails). */
  liveScore: Score,
  riskFactors: z.array(z.string()),
  criteria: z.array(CriterionResult),
  consecutiveInconclusive: z.number().int().min(0),
  emergency: z.boolean(),
  evaluatedAt: IsoDateTime,
});
export type RolloutEvaluated = z.infer<typeof RolloutEvaluated>;

/** AGF asks for a rollback: a criterion failed. The deployment tooling (or a person) rolls back and reports it. */
export const RollbackRequested = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  previousVersion: z.string().nullable(),
  reason: z.string(),
  failedCriteria: z.array(CriterionResult),
  steps: z.array(z.string()),
  requester: z.string(),
  emergency: z.boolean(),
  /** When the failing reading was taken (or received). */
  signalAt: IsoDateTime,
  requestedAt: IsoDateTime,
  /** The 15-minute target (`rollout.rollback_target_minutes`): the rollback must be confirmed by then. */
  dueAt: IsoDateTime,
});
export type RollbackRequested = z.infer<typeof RollbackRequested>;

/** The rollback's own SLA: 75 % of the target passed (`warning`) or the target passed (`breached`) without a confirmation. */
export const RollbackEscalated = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  stage: z.enum(['warning', 'breached']),
  requestedAt: IsoDateTime,
  dueAt: IsoDateTime,
  firedAt: IsoDateTime,
});

/** A requested rollback was confirmed (`aborted` or `rolled-back` reported), with how long it took against the target. */
export const RollbackCompleted = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  confirmedBy: z.enum(['aborted', 'rolled-back']),
  requestedAt: IsoDateTime,
  completedAt: IsoDateTime,
  durationSeconds: z.number().min(0),
  withinTarget: z.boolean(),
});

/** `GET /v1/deployment-requests/{id}/rollout`. */
export const RolloutView = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  approved: z.boolean(),
  status: RolloutStatus,
  percent: z.number().nullable(),
  emergency: z.boolean(),
  evaluationIntervalSeconds: z.number(),
  verdict: RolloutVerdict.nullable(),
  revision: z.number().int().min(0),
  liveScore: Score.nullable(),
  consecutiveInconclusive: z.number().int().min(0),
  criteria: z.array(CriterionResult),
  signals: z.array(z.object({ name: z.string(), value: z.number(), unit: z.string().nullable(), at: IsoDateTime, source: z.enum(['pushed', 'prometheus']) })),
  rollback: z
    .object({ reason: z.string(), requestedAt: IsoDateTime, dueAt: IsoDateTime, completedAt: IsoDateTime.nullable(), withinTarget: z.boolean().nullable() })
    .nullable(),
  startedAt: IsoDateTime.nullable(),
  updatedAt: IsoDateTime.nullable(),
});
export type RolloutView = z.infer<typeof RolloutView>;
