import { z } from 'zod';
import { Actor } from './access';
import { ExpertId, ExpertKind, ExpertType, IsoDateTime, ProjectId, Score, TierLevel } from './primitives';

const RequestId = z.uuid();

/**
 * An open assignment that no longer needs an answer: the request was decided (`decided`), or its expert became
 * unavailable and the work went to another (`expert-unavailable`, with `replacedByAssignmentId`). Its reviewer
 * is told; an answer to it is refused as `assignment-closed`.
 */
export const ReviewCancelled = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  assignmentId: z.uuid(),
  expertId: ExpertId,
  reason: z.enum(['decided', 'expert-unavailable', 'removed-from-registry']),
  replacedByAssignmentId: z.uuid().optional(),
  cancelledAt: IsoDateTime,
});
export type ReviewCancelled = z.infer<typeof ReviewCancelled>;

/** Why a request went to a person who must decide it. */
export const EscalationReason = z.enum([
  /** An expert type the tier needs has nobody who can take it, and no fallback either. */
  'missing-expert',
  /** The reviews came in, but the confidence is below `min_confidence`. */
  'low-confidence',
  /** A reviewer answered, but the reviews disagree in a way the policy leaves to a person. */
  'conflicting-reviews',
  /** An assignment's SLA ran out; or, for a step of the chain, that step's SLA ran out. */
  'sla-breached',
]);
export type EscalationReason = z.infer<typeof EscalationReason>;

/**
 * The request now waits for a named person (`assignees`) to decide it by `dueAt`. Interim: exactly one
 * `decision.made` follows, carrying that person's outcome. A breach of `dueAt` moves the request up the
 * escalation chain (`level` + 1), with another `decision.escalated`.
 */
export const DecisionEscalated = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  componentName: z.string(),
  version: z.string(),
  tierLevel: TierLevel,
  riskScore: Score,
  reason: EscalationReason,
  detail: z.string(),
  /** 1 for the chain's first step; each breach moves one up (the chain's top stays the top). */
  level: z.number().int().min(1),
  expertType: ExpertType,
  assignees: z.array(z.object({ assignmentId: z.uuid(), expertId: ExpertId })).min(1),
  dueAt: IsoDateTime,
  escalatedAt: IsoDateTime,
});
export type DecisionEscalated = z.infer<typeof DecisionEscalated>;

/** How a final decision came out of an escalation: on `decision.made` as `escalation`. */
export const EscalationResolution = z.object({
  reason: EscalationReason,
  level: z.number().int().min(1),
  escalatedAt: IsoDateTime,
  /** The assignment whose answer decided it, and who gave it. */
  resolvedByAssignmentId: z.uuid(),
  resolvedByExpertId: ExpertId,
  resolvedBy: Actor.optional(),
  justification: z.string(),
});
export type EscalationResolution = z.infer<typeof EscalationResolution>;

/** `POST /v1/deployment-requests/{id}/break-glass` (role `emergency`). */
export const BreakGlassInput = z.strictObject({
  justification: z.string().trim().min(10, 'say why this cannot wait (at least 10 characters)').max(4000),
});
export type BreakGlassInput = z.infer<typeof BreakGlassInput>;

/** Someone with the `emergency` role approved a request at once, to be reviewed after the fact. */
export const BreakGlassRequested = z.object({
  requestId: RequestId,
  projectId: ProjectId,
  justification: z.string(),
  actor: Actor,
  requestedAt: IsoDateTime,
});
export type BreakGlassRequested = z.infer<typeof BreakGlassRequested>;

/** On a break-glass `decision.made` as `emergency`: an approval that skipped review, reviewed after the fact. */
export const EmergencyChange = z.object({
  justification: z.string(),
  approvedBy: Actor,
  /** The oversight assignment that reviews the change after the fact, with its own SLA. */
  afterTheFactReview: z.object({ assignmentId: z.uuid(), expertId: ExpertId, slaDueAt: IsoDateTime }).nullable(),
});
export type EmergencyChange = z.infer<typeof EmergencyChange>;

/** One expert in the registry: seeded from `agf-config.yaml`, managed through coe's `/v1/experts`. */
export const ExpertRecord = z.object({
  id: ExpertId,
  expertType: ExpertType,
  kind: ExpertKind,
  name: z.string().max(256).optional(),
  specialties: z.array(z.string().min(1).max(128)).max(50),
  capacity: z.number().int().positive(),
  level: z.enum(['standard', 'strategic']),
  runtime: z.enum(['builtin', 'external']),
  principal: z.array(z.string().min(1).max(256)).max(100),
  email: z.email().optional(),
  phone: z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'expected an E.164 number, e.g. +4915112345678').optional(),
  /** `false`: takes no new work until set back. */
  available: z.boolean(),
  /** Away for a period: takes no new work between these times. */
  away: z.object({ from: IsoDateTime, until: IsoDateTime }).nullable(),
});
export type ExpertRecord = z.infer<typeof ExpertRecord>;

/**
 * The registry changed: an expert was added or updated (`expert` is the whole new record) or removed
 * (`expert` null). Kept for ever on `AGF_REGISTRY`: a service replays it to know the registry.
 */
export const ExpertRegistryChanged = z.object({
  expertId: ExpertId,
  change: z.enum(['upserted', 'removed']),
  expert: ExpertRecord.nullable(),
  /** `config`: seeded from agf-config.yaml at start; `api`: an admin through `/v1/experts`. */
  source: z.enum(['config', 'api']),
  actor: Actor.optional(),
  changedAt: IsoDateTime,
});
export type ExpertRegistryChanged = z.infer<typeof ExpertRegistryChanged>;
