import { Injectable } from '@nestjs/common';
import { type Actor, type AssignmentPurpose, type AssignmentRole, type AssignmentStatus, type EscalationView, type ReviewCancelled, type ComplianceEvaluated, type DecisionMade, type DeploymentRequest, type DeploymentRequestView, type RequestStatus, type ExpertKind, type ExpertType, LIMITS, type ReviewClassified, type ReviewDecision, type ReviewRejectionCode, type RiskAssessed } from '@agf/contracts';
import { DataSource, type EntityManager } from 'typeorm';

export interface RequestRow {
  id: string;
  project_id: string;
  component_name: string;
  version: string;
  requester: string;
  request: DeploymentRequest;
  status: RequestStatus;
  risk: Omit<RiskAssessed, 'request'> | null;
  classification: ReviewClassified | null;
  compliance: ComplianceEvaluated | null;
  decision: DecisionMade | null;
  escalation: EscalationView | null;
  break_glass: { justification: string; actor: Actor; requestedAt: string } | null;
  created_at: Date;
  updated_at: Date;
}

export interface AssignmentRow {
  id: string;
  request_id: string;
  expert_id: string;
  expert_type: ExpertType;
  expert_kind: ExpertKind;
  role: AssignmentRole;
  status: AssignmentStatus;
  tier_level: 0 | 1 | 2;
  assigned_at: Date;
  sla_due_at: Date;
  supersedes_assignment_id: string | null;
  decision: ReviewDecision | null;
  comments: string | null;
  conditions: string[] | null;
  completed_at: Date | null;
  warned_at: Date | null;
  breached_at: Date | null;
  scope: string[] | null;
  priority: string | null;
  purpose: AssignmentPurpose;
  /** `escalation`: its step; `after-the-fact`: the break-glass approval it reviews. */
  purpose_detail: Record<string, unknown> | null;
  cancel_reason: ReviewCancelled['reason'] | null;
  cancelled_at: Date | null;
  replaced_by_assignment_id: string | null;
}

export interface RejectedAnswerRow {
  assignment_id: string;
  expert_id: string;
  code: ReviewRejectionCode;
  reason: string;
  rejected_at: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

@Injectable()
export class RequestViewRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findRequest(id: string, manager: EntityManager = this.dataSource.manager, forUpdate = false): Promise<RequestRow | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: RequestRow[] = await manager.query(`SELECT * FROM "intake"."requests" WHERE "id" = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0];
  }

  async findAssignments(requestId: string, manager: EntityManager = this.dataSource.manager): Promise<AssignmentRow[]> {
    return manager.query(`SELECT * FROM "intake"."assignments" WHERE "request_id" = $1 ORDER BY "assigned_at", "id"`, [requestId]);
  }

  /** The latest answers the CoE did not take, oldest first. */
  async findRejectedAnswers(requestId: string): Promise<RejectedAnswerRow[]> {
    return this.dataSource.query(
      `SELECT "assignment_id", "expert_id", "code", "reason", "rejected_at" FROM (
         SELECT "event_id", "assignment_id", "expert_id", "code", "reason", "rejected_at" FROM "intake"."rejected_answers" WHERE "request_id" = $1 ORDER BY "rejected_at" DESC, "event_id" LIMIT $2) AS latest
        ORDER BY "rejected_at", "event_id"`,
      [requestId, LIMITS.rejectedAnswersShown],
    );
  }

  async findDecision(id: string): Promise<Pick<RequestRow, 'project_id' | 'status' | 'decision' | 'escalation'> | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: Pick<RequestRow, 'project_id' | 'status' | 'decision' | 'escalation'>[] = await this.dataSource.query(
      `SELECT "project_id", "status", "decision", "escalation" FROM "intake"."requests" WHERE "id" = $1`,
      [id],
    );
    return rows[0];
  }
}

/** The public view of a request: the whole story so far. */
export function toRequestView(row: RequestRow, assignments: AssignmentRow[], rejectedAnswers: RejectedAnswerRow[]): DeploymentRequestView {
  return {
    id: row.id,
    projectId: row.project_id,
    componentName: row.component_name,
    version: row.version,
    requester: row.requester,
    status: row.status,
    request: row.request,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    riskAssessment: row.risk,
    triggers: row.classification?.triggers ?? null,
    tierLevel: row.classification?.tierLevel ?? row.decision?.tierLevel ?? null,
    tierReasons: row.classification?.tierReasons ?? null,
    // A row intake made from an answer or a cancellation that came before its `review.assigned` is not shown until then.
    assignments: assignments.filter(isAnnounced).map((a) => ({
      id: a.id,
      expertId: a.expert_id,
      expertType: a.expert_type,
      expertKind: a.expert_kind,
      role: a.role,
      status: a.status,
      tierLevel: a.tier_level,
      assignedAt: a.assigned_at.toISOString(),
      slaDueAt: a.sla_due_at.toISOString(),
      supersedesAssignmentId: a.supersedes_assignment_id,
      slaWarnedAt: a.warned_at?.toISOString() ?? null,
      slaBreachedAt: a.breached_at?.toISOString() ?? null,
      purpose: a.purpose,
      cancellation: cancellationOf(a, row.decision?.decidedAt),
    })),
    reviews: assignments
      .filter((a): a is AssignmentRow & { decision: ReviewDecision } => a.status === 'completed' && a.decision !== null)
      .map((a) => ({
        assignmentId: a.id,
        expertId: a.expert_id,
        expertType: a.expert_type,
        decision: a.decision,
        comments: a.comments ?? '',
        conditions: a.conditions ?? [],
        completedAt: a.completed_at?.toISOString() ?? null,
      })),
    rejectedAnswers: rejectedAnswers.map((r) => ({
      assignmentId: r.assignment_id,
      expertId: r.expert_id,
      code: r.code,
      reason: r.reason,
      rejectedAt: r.rejected_at.toISOString(),
    })),
    compliance: row.compliance,
    decision: row.decision,
    escalation: row.escalation,
    breakGlass: row.break_glass,
  };
}

/** Whether intake has seen the assignment's `review.assigned` (or an escalation or decision naming it), not only an answer to it. */
export function isAnnounced(a: AssignmentRow): a is AssignmentRow & { role: AssignmentRole } {
  return (a.role as string) !== 'unknown';
}

/**
 * Why and when an assignment was cancelled, as the CoE's `review.cancelled` said; one the decision closed
 * before that event came says `decided`, at the decision's time (`decidedAt`, when the request is decided).
 */
export function cancellationOf(a: AssignmentRow, decidedAt: string | undefined): DeploymentRequestView['assignments'][number]['cancellation'] {
  if (a.status !== 'cancelled' && !(a.status === 'reassigned' && a.cancel_reason)) return null;
  if (!a.cancel_reason && decidedAt) return { reason: 'decided', cancelledAt: decidedAt, replacedByAssignmentId: null };
  return { reason: a.cancel_reason, cancelledAt: a.cancelled_at?.toISOString() ?? null, replacedByAssignmentId: a.replaced_by_assignment_id };
}
