import { z } from 'zod';

/** A project id is always one safe NATS subject token (ARCHITECTURE: `[A-Za-z0-9_-]{1,128}`). */
export const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const ProjectId = z.string().regex(PROJECT_ID_PATTERN, 'must match [A-Za-z0-9_-]{1,128}');

/** Expert ids appear in subjects (`agf.v1.review.requested.<expertId>`), so they obey the same rule. */
export const ExpertId = z.string().regex(PROJECT_ID_PATTERN, 'must match [A-Za-z0-9_-]{1,128}');

export const Uuid = z.uuid();
const EARLIEST_TIME = Date.UTC(1970, 0, 1);
const LATEST_TIME = Date.UTC(9999, 0, 1);
/**
 * RFC 3339 with an offset, from 1970 up to the year 9998: services store times in Postgres (which has no year
 * 0000) and write them back as ISO strings (JavaScript gives years past 9999 six digits, which this refuses).
 */
export const IsoDateTime = z.iso.datetime({ offset: true }).refine((value) => {
  const time = Date.parse(value);
  return time >= EARLIEST_TIME && time < LATEST_TIME;
}, 'expected a time from 1970 to 9998');
export const Score = z.number().min(0).max(1);
export const TierLevel = z.union([z.literal(0), z.literal(1), z.literal(2)]);
export type TierLevel = z.infer<typeof TierLevel>;

export const ExpertType = z.enum(['security', 'architecture', 'performance', 'compliance', 'human_oversight']);
export type ExpertType = z.infer<typeof ExpertType>;
export const ExpertKind = z.enum(['automated', 'human']);
export type ExpertKind = z.infer<typeof ExpertKind>;
export const ReviewDecision = z.enum(['approve', 'reject', 'conditional']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

export const TriggerCondition = z.enum([
  'DOMINO_COMPLETE',
  'CRITICAL_DEPLOYMENT',
  'SECURITY_CHANGE',
  'COMPLIANCE_REQUIRED',
  'CROSS_PROJECT_IMPACT',
]);
export type TriggerCondition = z.infer<typeof TriggerCondition>;

export const DecisionOutcome = z.enum([
  'PROCEED_STANDARD',
  'PROCEED_WITH_MONITORING',
  'BLOCK_WITH_FEEDBACK',
  'ESCALATE_TO_HUMAN',
]);
export type DecisionOutcome = z.infer<typeof DecisionOutcome>;

export const DeploymentOutcomeStatus = z.enum(['succeeded', 'failed', 'rolled_back']);
export type DeploymentOutcomeStatus = z.infer<typeof DeploymentOutcomeStatus>;

/** Limits that keep one client from exhausting the system; they are part of the contract. */
export const LIMITS = {
  shortText: 256,
  longText: 8192,
  changes: 1000,
  changeText: 2048,
  listItems: 100,
  conditions: 50,
  maxBodyBytes: 1024 * 1024,
  /**
   * The request as stored (UTF-8 JSON, with the fields intake adds). The events that carry it
   * (`deployment.requested`, `risk.assessed`, `review.requested`) must each fit in one NATS message
   * (the server's default max_payload is 1 MiB), with room for their envelope and assessment.
   */
  maxRequestBytes: 768 * 1024,
  /** A CloudEvent as published: NATS' default max_payload (1 MiB), less room for its headers. */
  maxEventBytes: 1024 * 1024 - 8 * 1024,
  maxWaitSeconds: 60,
  /** An `Idempotency-Key` header or the `Nats-Msg-Id` of a submission (it is stored and indexed as the key). */
  idempotencyKeyLength: 256,
  /** CloudEvent `subject`, `correlationid`, `causationid` and `traceparent`: ids, stored and indexed by the audit trail. */
  envelopeId: 256,
  /** Answers the CoE did not take that a request's view lists (the latest): an expert resending cannot grow the view without end. */
  rejectedAnswersShown: 20,
  /** How many of a request's changes a reviewer's inbox item shows. */
  inboxChangesShown: 10,
  /** A page of a reviewer's inbox: the default and the most a caller may ask for. */
  inboxPageDefault: 20,
  inboxPageMax: 100,
} as const;

export const ShortText = z.string().min(1).max(LIMITS.shortText);
export const LongText = z.string().max(LIMITS.longText);
/** What a reviewer may write, over HTTP or as an external expert's `review.submit`. */
export const ReviewComments = LongText;
export const ReviewConditions = z.array(z.string().min(1).max(LIMITS.shortText * 4)).max(LIMITS.conditions);
