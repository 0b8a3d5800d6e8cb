import type { Actor, DecisionMade } from '@agf/contracts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** AGF's own predicate: what was decided about the subject, by whom, on what evidence. */
export const DECISION_PREDICATE_TYPE = 'https://agf.dev/attestations/deployment-decision/v1';

export interface ResourceDescriptor {
  name: string;
  digest?: Record<string, string>;
}

export interface DecisionApprover {
  expertId: string;
  expertType: string;
  expertKind: string;
  decision: string | null;
  completedAt: string | null;
  /** The verified principal who answered; null for a built-in validator or an answer not yet seen by intake. */
  identity: { subject: string; issuer?: string; apiKeyId?: string; channel: string } | null;
}

export interface DecisionPredicate {
  requestId: string;
  projectId: string;
  outcome: DecisionMade['outcome'];
  approved: boolean;
  tierLevel: number;
  riskScore: number;
  confidenceScore: number;
  conditions: string[];
  monitoringRequirements: DecisionMade['monitoringRequirements'];
  approvers: DecisionApprover[];
  rationale: string;
  decidedAt: string;
  escalation?: { level: number; reason: string; resolvedByExpertId: string; resolvedBy: Actor | null };
  emergency?: unknown;
}

export interface DecisionStatement {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: typeof DECISION_PREDICATE_TYPE;
  predicate: DecisionPredicate;
}

/** The artifact a request is about: `component@version`. */
export const artifactName = (componentName: string, version: string): string => `${componentName}@${version}`;

/**
 * A digest as pipelines write it (`sha256:abc…`) as in-toto's digest set (`{sha256: 'abc…'}`), or undefined
 * when it is not one. Only lowercase hex is kept, so the same artifact always gives the same subject.
 */
export function parseDigest(text: unknown): Record<string, string> | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(sha256|sha512|sha384):([0-9a-fA-F]+)$/.exec(text.trim());
  if (!match) return undefined;
  const lengths = { sha256: 64, sha384: 96, sha512: 128 } as const;
  const [, algorithm, hex] = match as unknown as [string, keyof typeof lengths, string];
  return hex.length === lengths[algorithm] ? { [algorithm]: hex.toLowerCase() } : undefined;
}

/** Where a request names its artifact's digest: `metadata.artifactDigest` (or `metadata.digest`). */
export function digestFromMetadata(metadata: Record<string, unknown> | undefined): Record<string, string> | undefined {
  return parseDigest(metadata?.['artifactDigest']) ?? parseDigest(metadata?.['digest']);
}

export interface StatementInput {
  decision: DecisionMade;
  digest?: Record<string, string>;
  /** Who answered each assignment, as the review events said (`review.completed`'s actor). */
  actorsByAssignment?: ReadonlyMap<string, Actor>;
}

/** The in-toto Statement for a final decision. */
export function decisionStatement({ decision, digest, actorsByAssignment }: StatementInput): DecisionStatement {
  const subject: ResourceDescriptor = { name: artifactName(decision.componentName, decision.version), ...(digest ? { digest } : {}) };
  const approvers = decision.expertReviews
    .filter((r) => r.status === 'completed')
    .map<DecisionApprover>((r) => {
      const actor = actorsByAssignment?.get(r.assignmentId);
      return {
        expertId: r.expertId,
        expertType: r.expertType,
        expertKind: r.expertKind,
        decision: r.decision,
        completedAt: r.completionTime,
        identity: actor ? { subject: actor.subject, channel: actor.channel, ...(actor.issuer ? { issuer: actor.issuer } : {}), ...(actor.apiKeyId ? { apiKeyId: actor.apiKeyId } : {}) } : null,
      };
    });
  return {
    _type: STATEMENT_TYPE,
    subject: [subject],
    predicateType: DECISION_PREDICATE_TYPE,
    predicate: {
      requestId: decision.requestId,
      projectId: decision.projectId,
      outcome: decision.outcome,
      approved: decision.approved,
      tierLevel: decision.tierLevel,
      riskScore: decision.riskScore,
      confidenceScore: decision.confidenceScore,
      conditions: decision.conditions,
      monitoringRequirements: decision.monitoringRequirements,
      approvers,
      rationale: decision.decisionRationale,
      decidedAt: decision.decidedAt,
      ...(decision.escalation
        ? {
            escalation: {
              level: decision.escalation.level,
              reason: decision.escalation.reason,
              resolvedByExpertId: decision.escalation.resolvedByExpertId,
              resolvedBy: decision.escalation.resolvedBy ?? null,
            },
          }
        : {}),
      ...(decision.emergency ? { emergency: decision.emergency } : {}),
    },
  };
}
