import { type Actor, type CloudEvent, type DeploymentOutcomeStatus, type DecisionOutcome, type EventName, messageNameOfType, type PayloadOf } from '@agf/contracts';
import type { ChainedAuditEntry } from '../audit-chain';

/** One audit entry an evidence item rests on: where it sits in the chain and the hash that vouches for it. */
export interface EvidenceRef {
  sequence: number;
  eventType: string;
  entryHash: string;
}

export interface ChangeApproval {
  assignmentId: string;
  expertId: string;
  expertType: string;
  expertKind: string;
  decision: 'approve' | 'reject' | 'conditional';
  /** The identity the CoE verified for the answer; null for a built-in automated validator. */
  identity: Actor | null;
  completedAt: string;
  evidence: EvidenceRef;
}

/**
 * An answer the CoE refused (`review.rejected`) or an action on the change a service refused
 * (`security.refused`); `separation-of-duties` is a refused self-approval.
 */
export interface RefusedAnswer {
  assignmentId: string | null;
  expertId: string | null;
  /** Who was refused, when their credential was valid. */
  by: string | null;
  code: string;
  reason: string;
  refusedAt: string;
  evidence: EvidenceRef;
}

export interface ChangeRecord {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string;
  requester: string;
  submittedAt: string;
  submittedBy: Actor | null;
  touchesPersonalData: boolean;
  changes: number;
  risk: { overallScore: number; revision: number; assessedAt: string; riskFactors: string[]; evidence: EvidenceRef } | null;
  tierLevel: number | null;
  assignments: Array<{ assignmentId: string; expertId: string; expertType: string; expertKind: string; role: string }>;
  approvals: ChangeApproval[];
  refusedAnswers: RefusedAnswer[];
  escalations: Array<{ level: number; reason: string; escalatedAt: string; evidence: EvidenceRef }>;
  slaBreaches: number;
  decision: {
    outcome: DecisionOutcome;
    approved: boolean;
    decidedAt: string;
    rationale: string;
    riskScore: number;
    tierLevel: number;
    shadow: boolean;
    escalation: { level: number; reason: string; resolvedByExpertId: string; resolvedBy: string | null } | null;
    emergency: { justification: string; approvedBy: string; afterTheFactAssignmentId: string | null } | null;
    evidence: EvidenceRef;
  } | null;
  outcome: { status: DeploymentOutcomeStatus; reportedAt: string; evidence: EvidenceRef } | null;
  /** The last control evaluation compliance published for the change. */
  controls: Array<{ framework: string; control: string; status: string; reason: string }>;
  /** Every audit entry of the change, in chain order. */
  trail: EvidenceRef[];
}

/** Something an auditor must look at: not a failure by itself, but outside the normal path. */
export interface ChangeException {
  requestId: string;
  kind: 'blocked' | 'emergency-change' | 'refused-self-approval' | 'refused-answer' | 'escalated' | 'sla-breached' | 'undecided' | 'failed-control' | 'deployment-failed' | 'deployed-without-approval';
  detail: string;
  evidence: EvidenceRef[];
}

const refOf = (entry: ChainedAuditEntry): EvidenceRef => ({ sequence: entry.sequence, eventType: entry.eventType, entryHash: entry.entryHash });

type Envelope = CloudEvent<EventName>;

function dataOf<N extends EventName>(entry: ChainedAuditEntry): CloudEvent<N>['data'] {
  return (entry.payload as CloudEvent<N>).data;
}

/**
 * Builds each change's record from its audit entries (its own chain of events, as compliance received them):
 * request → risk → assignments and approvals with the verified identities → decision → deployment outcome.
 * `entries` are the entries of the changes wanted, in chain order; an entry of an unknown type is ignored.
 */
/** A completed review; one answered as it was assigned (a built-in validator) brings its assignment along. */
function addReview(record: ChangeRecord, d: PayloadOf<'review.completed'>, evidence: EvidenceRef): void {
  if (d.assignment) {
    const a = d.assignment;
    record.assignments.push({ assignmentId: a.assignmentId, expertId: a.expertId, expertType: a.expertType, expertKind: a.expertKind, role: a.role });
    record.tierLevel ??= a.tierLevel;
  }
  record.approvals.push({
    assignmentId: d.assignmentId, expertId: d.expertId, expertType: d.expertType, expertKind: d.expertKind, decision: d.decision,
    identity: d.actor ?? null, completedAt: d.completedAt, evidence,
  });
}

export function buildPopulation(entries: readonly ChainedAuditEntry[]): ChangeRecord[] {
  const byRequest = new Map<string, ChangeRecord>();
  const recordOf = (requestId: string, projectId: string): ChangeRecord => {
    let record = byRequest.get(requestId);
    if (!record) {
      record = {
        requestId, projectId, componentName: '', version: '', requester: '', submittedAt: '', submittedBy: null, touchesPersonalData: false, changes: 0,
        risk: null, tierLevel: null, assignments: [], approvals: [], refusedAnswers: [], escalations: [], slaBreaches: 0, decision: null, outcome: null, controls: [], trail: [],
      };
      byRequest.set(requestId, record);
    }
    return record;
  };
  for (const entry of entries) {
    const name = messageNameOfType(entry.eventType);
    const payload = entry.payload as Envelope;
    // A refusal names no project: it belongs to the change whose id it is correlated with (the id in the refused path).
    if (name === 'security.refused') {
      const record = entry.correlationId ? byRequest.get(entry.correlationId) : undefined;
      if (!record) continue;
      const d = dataOf<'security.refused'>(entry);
      record.trail.push(refOf(entry));
      record.refusedAnswers.push({ assignmentId: null, expertId: null, by: d.actor?.subject ?? null, code: d.code, reason: `${d.service}: ${d.target}: ${d.reason}`, refusedAt: d.refusedAt, evidence: refOf(entry) });
      continue;
    }
    const data = payload?.data as { requestId?: string; projectId?: string } | undefined;
    if (!name || !data?.requestId || !data.projectId) continue;
    const record = recordOf(data.requestId, data.projectId);
    record.trail.push(refOf(entry));
    switch (name) {
      case 'deployment.requested': {
        const d = dataOf<'deployment.requested'>(entry);
        Object.assign(record, {
          componentName: d.componentName, version: d.version, requester: d.requester, submittedAt: d.receivedAt,
          touchesPersonalData: d.riskIndicators.touchesPersonalData === true, changes: d.changes.length,
        });
        record.submittedBy = d.actor ?? null;
        break;
      }
      case 'risk.assessed': {
        const d = dataOf<'risk.assessed'>(entry);
        // Risk may re-assess: the highest revision stands.
        if (!record.risk || d.revision >= record.risk.revision) {
          record.risk = { overallScore: d.overallScore, revision: d.revision, assessedAt: d.assessedAt, riskFactors: d.riskFactors, evidence: refOf(entry) };
        }
        if (!record.componentName) {
          const r = d.request;
          Object.assign(record, { componentName: r.componentName, version: r.version, requester: r.requester, submittedAt: r.receivedAt, touchesPersonalData: r.riskIndicators.touchesPersonalData === true, changes: r.changes.length });
        }
        break;
      }
      case 'review.classified':
        record.tierLevel = dataOf<'review.classified'>(entry).tierLevel;
        break;
      case 'review.assigned': {
        const d = dataOf<'review.assigned'>(entry);
        record.assignments.push({ assignmentId: d.assignmentId, expertId: d.expertId, expertType: d.expertType, expertKind: d.expertKind, role: d.role });
        record.tierLevel ??= d.tierLevel;
        break;
      }
      case 'review.completed':
        addReview(record, dataOf<'review.completed'>(entry), refOf(entry));
        break;
      case 'review.rejected': {
        const d = dataOf<'review.rejected'>(entry);
        record.refusedAnswers.push({ assignmentId: d.assignmentId, expertId: d.expertId, by: null, code: d.code, reason: d.reason, refusedAt: d.rejectedAt, evidence: refOf(entry) });
        break;
      }
      case 'decision.escalated': {
        const d = dataOf<'decision.escalated'>(entry);
        record.escalations.push({ level: d.level, reason: d.reason, escalatedAt: d.escalatedAt, evidence: refOf(entry) });
        break;
      }
      case 'sla.breached':
        record.slaBreaches += 1;
        break;
      case 'decision.made': {
        const d = dataOf<'decision.made'>(entry);
        // Decided in one step: the classification and validators' reviews come inside the decision.
        if (d.classification) record.tierLevel = d.classification.tierLevel;
        for (const review of d.validatorReviews ?? []) addReview(record, review, refOf(entry));
        // Exactly one per request; a redelivered duplicate never reaches the chain twice, but keep the first regardless.
        if (record.decision) break;
        record.decision = {
          outcome: d.outcome, approved: d.approved, decidedAt: d.decidedAt, rationale: d.decisionRationale, riskScore: d.riskScore, tierLevel: d.tierLevel, shadow: d.shadow === true,
          escalation: d.escalation ? { level: d.escalation.level, reason: d.escalation.reason, resolvedByExpertId: d.escalation.resolvedByExpertId, resolvedBy: d.escalation.resolvedBy?.subject ?? null } : null,
          emergency: d.emergency ? { justification: d.emergency.justification, approvedBy: d.emergency.approvedBy.subject, afterTheFactAssignmentId: d.emergency.afterTheFactReview?.assignmentId ?? null } : null,
          evidence: refOf(entry),
        };
        record.tierLevel ??= d.tierLevel;
        break;
      }
      case 'deployment.outcome': {
        const d = dataOf<'deployment.outcome'>(entry);
        record.outcome = { status: d.status, reportedAt: d.reportedAt, evidence: refOf(entry) };
        break;
      }
      case 'compliance.evaluated':
        record.controls = dataOf<'compliance.evaluated'>(entry).controls.map((c) => ({ framework: c.framework, control: c.control, status: c.status, reason: c.reason }));
        break;
      default:
        break;
    }
  }
  return [...byRequest.values()].sort((a, b) => (a.submittedAt === b.submittedAt ? a.requestId.localeCompare(b.requestId) : a.submittedAt.localeCompare(b.submittedAt)));
}

/** Whether an approval was given by a verified person other than the requester. */
export function isIndependentVerifiedApproval(change: ChangeRecord, approval: ChangeApproval): boolean {
  return approval.decision !== 'reject' && approval.expertKind === 'human' && approval.identity !== null && approval.identity.subject !== change.requester && approval.expertId !== change.requester;
}

/** The changes' exceptions: the departures from the normal path an auditor samples first. */
export function exceptionsOf(population: readonly ChangeRecord[]): ChangeException[] {
  const found: ChangeException[] = [];
  for (const change of population) {
    const add = (kind: ChangeException['kind'], detail: string, evidence: EvidenceRef[]) => found.push({ requestId: change.requestId, kind, detail, evidence });
    const d = change.decision;
    if (!d) add('undecided', 'no final decision in the period', change.trail.slice(-1));
    else if (!d.approved) add('blocked', `${d.outcome}: ${d.rationale}`, [d.evidence]);
    if (d?.emergency) {
      const review = change.approvals.find((a) => a.assignmentId === d.emergency!.afterTheFactAssignmentId);
      const state = review ? `reviewed after the fact by ${review.identity?.subject ?? review.expertId}: ${review.decision}` : 'after-the-fact review pending';
      add('emergency-change', `break-glass by ${d.emergency.approvedBy} ("${d.emergency.justification}"); ${state}`, [d.evidence, ...(review ? [review.evidence] : [])]);
    }
    for (const refused of change.refusedAnswers) {
      const who = refused.by ?? refused.expertId ?? 'unknown';
      if (refused.code === 'separation-of-duties') add('refused-self-approval', `self-approval by ${who} refused: ${refused.reason}`, [refused.evidence]);
      else add('refused-answer', `refused (${refused.code}) for ${who}: ${refused.reason}`, [refused.evidence]);
    }
    for (const escalation of change.escalations) add('escalated', `escalated at level ${escalation.level} (${escalation.reason})`, [escalation.evidence]);
    if (change.slaBreaches > 0) add('sla-breached', `${change.slaBreaches} review SLA breach(es)`, change.trail.filter((t) => t.eventType === 'io.agf.sla.breached.v1'));
    for (const control of change.controls.filter((c) => c.status === 'fail')) add('failed-control', `${control.framework} ${control.control}: ${control.reason}`, change.trail.filter((t) => t.eventType === 'io.agf.compliance.evaluated.v1').slice(-1));
    if (change.outcome && change.outcome.status !== 'succeeded') add('deployment-failed', `deployment ${change.outcome.status}`, [change.outcome.evidence]);
    if (change.outcome && (!d || !d.approved) && !d?.shadow) add('deployed-without-approval', `outcome ${change.outcome.status} reported for a change that was not approved`, [change.outcome.evidence]);
  }
  return found;
}
