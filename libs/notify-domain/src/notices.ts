import type { CloudEvent, PayloadOf } from '@agf/contracts';
import type { NotificationEvent, NotificationSeverity } from '@agf/policy';

/** The source events notify consumes. */
export const SOURCE_EVENTS = ['review.assigned', 'review.cancelled', 'sla.warning', 'sla.breached', 'decision.escalated', 'decision.made', 'deployment.break_glass', 'rollback.requested', 'rollback.escalated', 'rollback.completed'] as const;
export type SourceEvent = (typeof SOURCE_EVENTS)[number];

/**
 * One thing worth telling someone, whatever event it came from: what every channel's payload is built from.
 * Stored with each delivery, so a retry sends exactly what the first attempt did.
 */
export interface Notice {
  /** The source event's id: one notice per event. */
  eventId: string;
  event: NotificationEvent;
  severity: NotificationSeverity;
  requestId: string;
  projectId: string;
  occurredAt: string;
  /** One line for a human: a subject, a Slack header, an SMS. */
  title: string;
  /** The experts `to: assignee` reaches. */
  assignees: string[];
  /** PagerDuty: `trigger` opens an incident for the request, `resolve` closes it (an escalation decided). */
  incident: 'trigger' | 'resolve' | 'none';
  /** Event-specific fields, merged into the webhook body. */
  details: Record<string, unknown>;
}

const SEVERITY_RANK: Record<NotificationSeverity, number> = { info: 0, warning: 1, critical: 2 };

export function atLeast(severity: NotificationSeverity, minimum: NotificationSeverity | undefined): boolean {
  return !minimum || SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum];
}

/**
 * Severity as in the PRD's alerting section: `critical` needs someone now (an SLA breached, an escalation
 * waiting for a person, a break-glass approval, a rollback), `warning` within 30 minutes (an SLA at 75 %, a
 * blocked request, an urgent assignment), `info` otherwise.
 */
export function severityOf(notice: Pick<Notice, 'event'> & { priority?: string; outcome?: string }): NotificationSeverity {
  switch (notice.event) {
    case 'sla.breached':
    case 'escalation':
    case 'break-glass':
    case 'rollback':
      return 'critical';
    case 'sla.warning':
      return 'warning';
    case 'assignment':
      return notice.priority === 'critical' || notice.priority === 'high' ? 'warning' : 'info';
    case 'decision':
      return notice.outcome === 'BLOCK_WITH_FEEDBACK' || notice.outcome === 'ESCALATE_TO_HUMAN' ? 'warning' : 'info';
    case 'cancelled':
      return 'info';
  }
}

type Source<N extends SourceEvent> = Pick<CloudEvent<N>, 'id' | 'time' | 'data'>;

/** The notice of one source event. */
export function noticeOf<N extends SourceEvent>(name: N, event: Source<N>): Notice {
  const base = { eventId: event.id, occurredAt: event.time };
  switch (name) {
    case 'review.assigned': {
      const a = event.data as PayloadOf<'review.assigned'>;
      return {
        ...base,
        event: 'assignment',
        severity: severityOf({ event: 'assignment', priority: a.priority }),
        requestId: a.requestId,
        projectId: a.projectId,
        title: `Review needed (tier ${a.tierLevel}, ${a.expertType}) for ${a.projectId}, due ${a.slaDueAt}`,
        assignees: [a.expertId],
        incident: 'none',
        details: pick(a, ['assignmentId', 'expertId', 'expertType', 'expertKind', 'role', 'scope', 'tierLevel', 'priority', 'slaHours', 'slaDueAt', 'supersedesAssignmentId']),
      };
    }
    case 'review.cancelled': {
      const c = event.data as PayloadOf<'review.cancelled'>;
      return {
        ...base,
        event: 'cancelled',
        severity: 'info',
        requestId: c.requestId,
        projectId: c.projectId,
        title: `Review no longer needed (${c.reason}) for ${c.projectId}`,
        assignees: [c.expertId],
        incident: 'none',
        details: pick(c, ['assignmentId', 'expertId', 'reason', 'replacedByAssignmentId', 'cancelledAt']),
      };
    }
    case 'sla.warning':
    case 'sla.breached': {
      const t = event.data as PayloadOf<'sla.warning'>;
      const breached = name === 'sla.breached';
      return {
        ...base,
        event: breached ? 'sla.breached' : 'sla.warning',
        severity: breached ? 'critical' : 'warning',
        requestId: t.requestId,
        projectId: t.projectId,
        title: breached ? `Review SLA breached for ${t.projectId} (was due ${t.slaDueAt})` : `Review SLA at ${Math.round(t.fraction * 100)} % for ${t.projectId}, due ${t.slaDueAt}`,
        assignees: [t.expertId],
        incident: 'none',
        details: pick(t, ['assignmentId', 'expertId', 'tierLevel', 'slaDueAt', 'fraction']),
      };
    }
    case 'decision.escalated': {
      const e = event.data as PayloadOf<'decision.escalated'>;
      return {
        ...base,
        event: 'escalation',
        severity: 'critical',
        requestId: e.requestId,
        projectId: e.projectId,
        title: `Escalated to ${e.expertType} (level ${e.level}): ${e.componentName} ${e.version} must be decided by ${e.dueAt}`,
        assignees: e.assignees.map((a) => a.expertId),
        incident: 'trigger',
        details: pick(e, ['componentName', 'version', 'tierLevel', 'riskScore', 'reason', 'detail', 'level', 'expertType', 'assignees', 'dueAt']),
      };
    }
    case 'decision.made': {
      const d = event.data as PayloadOf<'decision.made'>;
      return {
        ...base,
        event: 'decision',
        severity: severityOf({ event: 'decision', outcome: d.outcome }),
        requestId: d.requestId,
        projectId: d.projectId,
        title: `Decision ${d.outcome}${d.emergency ? ' (emergency change)' : ''}: ${d.componentName} ${d.version}`,
        assignees: d.escalation ? [d.escalation.resolvedByExpertId] : [],
        incident: d.escalation ? 'resolve' : 'none',
        details: {
          ...pick(d, ['componentName', 'version', 'outcome', 'approved', 'tierLevel', 'riskScore', 'confidenceScore', 'conditions']),
          ...(d.escalation ? { escalation: { level: d.escalation.level, resolvedByExpertId: d.escalation.resolvedByExpertId } } : {}),
          ...(d.emergency ? { emergency: true } : {}),
        },
      };
    }
    case 'deployment.break_glass': {
      const b = event.data as PayloadOf<'deployment.break_glass'>;
      return {
        ...base,
        event: 'break-glass',
        severity: 'critical',
        requestId: b.requestId,
        projectId: b.projectId,
        title: `Break-glass approval for ${b.projectId} by ${b.actor.subject}: review it after the fact`,
        assignees: [],
        incident: 'none',
        details: { justification: b.justification, actor: b.actor.subject, requestedAt: b.requestedAt },
      };
    }
    case 'rollback.requested': {
      const r = event.data as PayloadOf<'rollback.requested'>;
      return {
        ...base,
        event: 'rollback',
        severity: 'critical',
        requestId: r.requestId,
        projectId: r.projectId,
        title: `Rollback requested: ${r.componentName} ${r.version} of ${r.projectId} (${r.reason}), confirm by ${r.dueAt}`,
        assignees: [],
        incident: 'trigger',
        details: { stage: 'requested', ...pick(r, ['componentName', 'version', 'previousVersion', 'reason', 'failedCriteria', 'steps', 'requester', 'emergency', 'signalAt', 'requestedAt', 'dueAt']) },
      };
    }
    case 'rollback.escalated': {
      const r = event.data as PayloadOf<'rollback.escalated'>;
      return {
        ...base,
        event: 'rollback',
        severity: 'critical',
        requestId: r.requestId,
        projectId: r.projectId,
        title: r.stage === 'breached' ? `Rollback of ${r.componentName} (${r.projectId}) not confirmed: target passed at ${r.dueAt}` : `Rollback of ${r.componentName} (${r.projectId}) not confirmed yet, due ${r.dueAt}`,
        assignees: [],
        incident: 'trigger',
        details: { stage: r.stage === 'breached' ? 'breached' : 'warning', ...pick(r, ['componentName', 'requestedAt', 'dueAt', 'firedAt']) },
      };
    }
    case 'rollback.completed': {
      const r = event.data as PayloadOf<'rollback.completed'>;
      return {
        ...base,
        event: 'rollback',
        severity: 'info',
        requestId: r.requestId,
        projectId: r.projectId,
        title: `Rollback of ${r.componentName} (${r.projectId}) confirmed after ${Math.round(r.durationSeconds)} s${r.withinTarget ? '' : ' (past the target)'}`,
        assignees: [],
        incident: 'resolve',
        details: { stage: 'completed', ...pick(r, ['componentName', 'confirmedBy', 'requestedAt', 'completedAt', 'durationSeconds', 'withinTarget']) },
      };
    }
  }
  throw new Error(`not a source event: ${String(name)}`);
}

function pick<T extends object, K extends keyof T>(value: T, keys: K[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (value[key] !== undefined) picked[key as string] = value[key];
  return picked;
}

/** Where a notice links: the request's page of the public API. */
export function linkOf(notice: Pick<Notice, 'requestId'>, linkBaseUrl: string): string {
  return `${linkBaseUrl.replace(/\/+$/, '')}/v1/deployment-requests/${notice.requestId}`;
}
