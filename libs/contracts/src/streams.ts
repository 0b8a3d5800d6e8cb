/** One JetStream stream per domain (ARCHITECTURE.md). Subjects are given without any test namespace. */
export const STREAMS = {
  AGF_INTAKE: { subjects: ['agf.v1.intake.>'], description: 'Submissions over NATS and their rejections' },
  AGF_DEPLOYMENT: { subjects: ['agf.v1.deployment.>'], description: 'Accepted deployment requests and reported outcomes' },
  AGF_RISK: { subjects: ['agf.v1.risk.>'], description: 'Risk assessments' },
  AGF_REVIEW: { subjects: ['agf.v1.review.>'], description: 'Expert assignments, review commands and completed reviews' },
  AGF_SLA: { subjects: ['agf.v1.sla.>'], description: 'SLA warnings and breaches' },
  AGF_DECISION: { subjects: ['agf.v1.decision.>'], description: 'Governance decisions, kept for replay' },
  AGF_LEARNING: { subjects: ['agf.v1.learning.>'], description: 'Learned history and captured patterns' },
  AGF_COMPLIANCE: { subjects: ['agf.v1.compliance.>'], description: 'Compliance evaluations' },
  AGF_ACCESS: { subjects: ['agf.v1.access.>'], description: 'API keys issued and revoked, kept for as long as the stream lives: every service replays it to know the keys' },
  AGF_REGISTRY: { subjects: ['agf.v1.registry.>'], description: 'Changes to the expert registry, kept for as long as the stream lives: a service replays it to know the registry' },
  AGF_SECURITY: { subjects: ['agf.v1.security.>'], description: 'Refused credentials and reads of the audit trail, for the audit trail' },
  AGF_ROLLOUT: { subjects: ['agf.v1.rollout.>', 'agf.v1.rollback.>'], description: 'Rollouts AGF guards: progress, re-assessments, rollbacks requested and their SLA' },
  AGF_PRIVACY: { subjects: ['agf.v1.privacy.>'], description: 'Erasure requests to every service, their results, and retention runs' },
  AGF_DLQ: { subjects: ['agf.dlq.>'], description: 'Messages a consumer gave up on, with the reason' },
} as const;

export type StreamName = keyof typeof STREAMS;
export const STREAM_NAMES = Object.keys(STREAMS) as StreamName[];

/** Dead letters are published as `agf.dlq.<service>.<stream>`. */
export const dlqSubject = (service: string, stream: string): string => `agf.dlq.${service}.${stream}`;
