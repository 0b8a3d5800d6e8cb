import type { z } from 'zod';
import { DeploymentRequestInput } from './deployment-request';
import { AccessKeyIssued, AccessKeyRevoked, AccessRefused, AuditTrailRead } from './access';
import { BreakGlassRequested, DecisionEscalated, ExpertRegistryChanged, ReviewCancelled } from './human-loop';
import { ProjectModeChanged } from './pipeline';
import * as S from './events/schemas';
import { RollbackCompleted, RollbackEscalated, RollbackRequested, RolloutEvaluated, RolloutProgressed } from './rollout';
import { ErasureApplied, ErasureRecorded, ErasureRequested, RetentionApplied, RetentionRequested } from './privacy';
import type { StreamName } from './streams';

interface CatalogEntry {
  /** `agf.v1.<domain>.<event>`; the last token (project id, expert id) is added by `subjectFor`. */
  readonly subjectBase: string;
  readonly stream: StreamName;
  readonly schema: z.ZodType;
  /** `event`: a CloudEvent in structured mode. `command`: a plain JSON body (the public submit API). */
  readonly kind: 'event' | 'command';
  /** What the last subject token holds; `none` when the subject has no variable token. */
  readonly token: 'projectId' | 'expertId' | 'none';
  readonly description: string;
}

/**
 * The one typed map from message name to subject, stream and schema. Every publisher and consumer
 * goes through it, so a subject is never spelled twice.
 */
export const CATALOG = {
  'intake.submit': {
    subjectBase: 'agf.v1.intake.submit',
    stream: 'AGF_INTAKE',
    schema: DeploymentRequestInput,
    kind: 'command',
    token: 'none',
    description: 'A pipeline submits a deployment request over NATS; `Nats-Msg-Id` is its idempotency key.',
  },
  'intake.rejected': {
    subjectBase: 'agf.v1.intake.rejected',
    stream: 'AGF_INTAKE',
    schema: S.IntakeRejected,
    kind: 'event',
    token: 'projectId',
    description: 'A submission over NATS was invalid; the last token is its projectId, or `_invalid`.',
  },
  'deployment.requested': {
    subjectBase: 'agf.v1.deployment.requested',
    stream: 'AGF_DEPLOYMENT',
    schema: S.DeploymentRequested,
    kind: 'event',
    token: 'projectId',
    description: 'Intake accepted and stored a deployment request.',
  },
  'deployment.outcome': {
    subjectBase: 'agf.v1.deployment.outcome',
    stream: 'AGF_DEPLOYMENT',
    schema: S.DeploymentOutcome,
    kind: 'event',
    token: 'projectId',
    description: 'What happened after the decision, as the pipeline reported it.',
  },
  'deployment.break_glass': {
    subjectBase: 'agf.v1.deployment.break_glass',
    stream: 'AGF_DEPLOYMENT',
    schema: BreakGlassRequested,
    kind: 'event',
    token: 'projectId',
    description: 'Someone with the emergency role approved a request at once; CoE decides it as an emergency change, reviewed after the fact.',
  },
  'risk.assessed': {
    subjectBase: 'agf.v1.risk.assessed',
    stream: 'AGF_RISK',
    schema: S.RiskAssessed,
    kind: 'event',
    token: 'projectId',
    description: 'Risk scored a request (or re-scored it, with a higher revision).',
  },
  'review.classified': {
    subjectBase: 'agf.v1.review.classified',
    stream: 'AGF_REVIEW',
    schema: S.ReviewClassified,
    kind: 'event',
    token: 'projectId',
    description: 'CoE checked the trigger conditions and chose the review tier.',
  },
  'review.assigned': {
    subjectBase: 'agf.v1.review.assigned',
    stream: 'AGF_REVIEW',
    schema: S.ReviewAssigned,
    kind: 'event',
    token: 'projectId',
    description: 'An expert was assigned to review a request, with an SLA.',
  },
  'review.requested': {
    subjectBase: 'agf.v1.review.requested',
    stream: 'AGF_REVIEW',
    schema: S.ReviewRequested,
    kind: 'event',
    token: 'expertId',
    description: 'Work for one external automated expert: the subject ends with its expert id.',
  },
  'review.submit': {
    subjectBase: 'agf.v1.review.submit',
    stream: 'AGF_REVIEW',
    schema: S.ReviewSubmit,
    kind: 'event',
    token: 'projectId',
    description: "An expert's answer to an assignment (from intake's review API or an external expert).",
  },
  'review.rejected': {
    subjectBase: 'agf.v1.review.rejected',
    stream: 'AGF_REVIEW',
    schema: S.ReviewRejected,
    kind: 'event',
    token: 'projectId',
    description: "CoE did not take an expert's answer (unknown request or assignment, not the assigned expert, the requester, assignment closed, already decided); the reason says which.",
  },
  'review.completed': {
    subjectBase: 'agf.v1.review.completed',
    stream: 'AGF_REVIEW',
    schema: S.ReviewCompleted,
    kind: 'event',
    token: 'projectId',
    description: 'CoE accepted a review for an open assignment.',
  },
  'review.cancelled': {
    subjectBase: 'agf.v1.review.cancelled',
    stream: 'AGF_REVIEW',
    schema: ReviewCancelled,
    kind: 'event',
    token: 'projectId',
    description: 'An open assignment no longer needs an answer (the request was decided, or its expert became unavailable).',
  },
  'sla.warning': {
    subjectBase: 'agf.v1.sla.warning',
    stream: 'AGF_SLA',
    schema: S.SlaTimerFired,
    kind: 'event',
    token: 'projectId',
    description: '75 % of an assignment SLA has passed without a review.',
  },
  'sla.breached': {
    subjectBase: 'agf.v1.sla.breached',
    stream: 'AGF_SLA',
    schema: S.SlaTimerFired,
    kind: 'event',
    token: 'projectId',
    description: 'An assignment SLA passed without a review.',
  },
  'decision.made': {
    subjectBase: 'agf.v1.decision.made',
    stream: 'AGF_DECISION',
    schema: S.DecisionMade,
    kind: 'event',
    token: 'projectId',
    description: 'The governance decision for a request: exactly one per request, ever.',
  },
  'decision.escalated': {
    subjectBase: 'agf.v1.decision.escalated',
    stream: 'AGF_DECISION',
    schema: DecisionEscalated,
    kind: 'event',
    token: 'projectId',
    description: 'Interim: the request waits for a named person to decide it by a due time; one decision.made follows.',
  },
  'learning.model.updated': {
    subjectBase: 'agf.v1.learning.model.updated',
    stream: 'AGF_LEARNING',
    schema: S.LearningModelUpdated,
    kind: 'event',
    token: 'projectId',
    description: "A project's and component's learned history changed.",
  },
  'learning.risk-model.published': {
    subjectBase: 'agf.v1.learning.risk-model.published',
    stream: 'AGF_LEARNING',
    schema: S.RiskModelPublished,
    kind: 'event',
    token: 'projectId',
    description: 'A newly trained defect model passed its checks; the subject token is the project, or `cross-project`.',
  },
  'learning.pattern.captured': {
    subjectBase: 'agf.v1.learning.pattern.captured',
    stream: 'AGF_LEARNING',
    schema: S.LearningPatternCaptured,
    kind: 'event',
    token: 'projectId',
    description: 'A decision (and later its outcome) was stored as a pattern.',
  },
  'compliance.evaluated': {
    subjectBase: 'agf.v1.compliance.evaluated',
    stream: 'AGF_COMPLIANCE',
    schema: S.ComplianceEvaluated,
    kind: 'event',
    token: 'projectId',
    description: 'A request was evaluated against the configured compliance controls.',
  },
  'access.key.issued': {
    subjectBase: 'agf.v1.access.key.issued',
    stream: 'AGF_ACCESS',
    schema: AccessKeyIssued,
    kind: 'event',
    token: 'none',
    description: 'An admin issued an API key (its SHA-256, never the key); every service keeps a replica of the keys from these.',
  },
  'access.key.revoked': {
    subjectBase: 'agf.v1.access.key.revoked',
    stream: 'AGF_ACCESS',
    schema: AccessKeyRevoked,
    kind: 'event',
    token: 'none',
    description: 'An admin revoked an API key; every service refuses it from then on.',
  },
  'registry.expert.changed': {
    subjectBase: 'agf.v1.registry.expert.changed',
    stream: 'AGF_REGISTRY',
    schema: ExpertRegistryChanged,
    kind: 'event',
    token: 'expertId',
    description: 'An expert was added to, changed in or removed from the registry (from agf-config.yaml or the API).',
  },
  'registry.project.mode_changed': {
    subjectBase: 'agf.v1.registry.project.mode_changed',
    stream: 'AGF_REGISTRY',
    schema: ProjectModeChanged,
    kind: 'event',
    token: 'projectId',
    description: 'An admin switched a project between enforcing and shadow mode (`PUT /v1/projects/{id}/mode`); CoE marks its decisions shadow from then on.',
  },
  'security.refused': {
    subjectBase: 'agf.v1.security.refused',
    stream: 'AGF_SECURITY',
    schema: AccessRefused,
    kind: 'event',
    token: 'none',
    description: 'A service refused a credential or an action (401, 403, 404 for an object out of scope, a refused answer over NATS).',
  },
  'security.audit.read': {
    subjectBase: 'agf.v1.security.audit.read',
    stream: 'AGF_SECURITY',
    schema: AuditTrailRead,
    kind: 'event',
    token: 'none',
    description: 'Someone read the audit trail or a compliance record.',
  },
  'rollout.progressed': {
    subjectBase: 'agf.v1.rollout.progressed',
    stream: 'AGF_ROLLOUT',
    schema: RolloutProgressed,
    kind: 'event',
    token: 'projectId',
    description: 'A rollout AGF guards started, progressed, paused (too many inconclusive evaluations) or ended.',
  },
  'rollout.evaluated': {
    subjectBase: 'agf.v1.rollout.evaluated',
    stream: 'AGF_ROLLOUT',
    schema: RolloutEvaluated,
    kind: 'event',
    token: 'projectId',
    description: 'A re-assessment revision during a rollout: the pre-deployment risk with the live signals as a factor, and the verdict.',
  },
  'rollback.requested': {
    subjectBase: 'agf.v1.rollback.requested',
    stream: 'AGF_ROLLOUT',
    schema: RollbackRequested,
    kind: 'event',
    token: 'projectId',
    description: 'A criterion of the decision failed during the rollout: roll back now (target: confirmed within 15 minutes).',
  },
  'rollback.escalated': {
    subjectBase: 'agf.v1.rollback.escalated',
    stream: 'AGF_ROLLOUT',
    schema: RollbackEscalated,
    kind: 'event',
    token: 'projectId',
    description: 'A requested rollback is not confirmed at 75 % of its target (warning) or past it (breached).',
  },
  'rollback.completed': {
    subjectBase: 'agf.v1.rollback.completed',
    stream: 'AGF_ROLLOUT',
    schema: RollbackCompleted,
    kind: 'event',
    token: 'projectId',
    description: 'A requested rollback was confirmed, with its duration against the target.',
  },
  'privacy.erasure.requested': {
    subjectBase: 'agf.v1.privacy.erasure.requested',
    stream: 'AGF_PRIVACY',
    schema: ErasureRequested,
    kind: 'event',
    token: 'none',
    description: 'An admin asked for a person to be erased: every service pseudonymises the subject in its own schema (never chained: it names the person).',
  },
  'privacy.erasure.recorded': {
    subjectBase: 'agf.v1.privacy.erasure.recorded',
    stream: 'AGF_PRIVACY',
    schema: ErasureRecorded,
    kind: 'event',
    token: 'none',
    description: 'An erasure as the audit trail keeps it: a commitment to the subject, never the subject.',
  },
  'privacy.erasure.applied': {
    subjectBase: 'agf.v1.privacy.erasure.applied',
    stream: 'AGF_PRIVACY',
    schema: ErasureApplied,
    kind: 'event',
    token: 'none',
    description: 'One service pseudonymised an erased person in its schema, naming the fields it changed.',
  },
  'privacy.retention.requested': {
    subjectBase: 'agf.v1.privacy.retention.requested',
    stream: 'AGF_PRIVACY',
    schema: RetentionRequested,
    kind: 'event',
    token: 'none',
    description: 'An admin asked every service to apply retention now, as its schedule would.',
  },
  'privacy.retention.applied': {
    subjectBase: 'agf.v1.privacy.retention.applied',
    stream: 'AGF_PRIVACY',
    schema: RetentionApplied,
    kind: 'event',
    token: 'none',
    description: 'A retention run removed what its data classes were due for.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type MessageName = keyof typeof CATALOG;
export type EventName = { [K in MessageName]: (typeof CATALOG)[K]['kind'] extends 'event' ? K : never }[MessageName];
export type PayloadOf<N extends MessageName> = z.infer<(typeof CATALOG)[N]['schema']>;
export const MESSAGE_NAMES = Object.keys(CATALOG) as MessageName[];

/** `io.agf.<domain>.<event>.v1`, the CloudEvents `type` of a message. */
export const eventType = (name: MessageName): string => `io.agf.${name}.v1`;

const nameByType = new Map(MESSAGE_NAMES.map((name) => [eventType(name), name]));
export const messageNameOfType = (type: string): MessageName | undefined => nameByType.get(type);

/** The concrete subject for one message; `token` is the project id (or expert id) it is about. */
export function subjectFor(name: MessageName, token?: string): string {
  const entry: CatalogEntry = CATALOG[name];
  if (entry.token === 'none') return entry.subjectBase;
  if (!token) throw new Error(`subject of ${name} needs a ${entry.token}`);
  return `${entry.subjectBase}.${token}`;
}

/** The subject filter matching every message of one name (`agf.v1.decision.made.>`). */
export function subjectFilterFor(name: MessageName): string {
  const entry: CatalogEntry = CATALOG[name];
  return entry.token === 'none' ? entry.subjectBase : `${entry.subjectBase}.>`;
}

/** Which message a concrete subject carries (namespace already removed), or undefined. */
export function messageNameOfSubject(subject: string): MessageName | undefined {
  for (const name of MESSAGE_NAMES) {
    const entry: CatalogEntry = CATALOG[name];
    if (entry.token === 'none' ? subject === entry.subjectBase : subject.startsWith(`${entry.subjectBase}.`)) {
      return name;
    }
  }
  return undefined;
}
