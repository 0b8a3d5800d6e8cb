import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  type ComplianceEvaluated,
  type DecisionMade,
  type DeploymentRequest,
  type ReviewAssigned,
  ReviewAnswerAddress,
  type ReviewSubmit,
  type RiskAssessed,
  type Role,
  type SlaTimerFired,
  Uuid,
} from '@agf/contracts';
import {
  acceptReview,
  calculateConfidence,
  classifyTier,
  decide,
  decideWithoutGovernance,
  detectTriggers,
  type ExpertBinding,
  type ExpertCandidate,
  isReadyToDecide,
  type PlannedAssignment,
  planAssignments,
  planBreachResponse,
  type ReviewRefusal,
  runBuiltinValidator,
} from '@agf/coe-domain';
import { type InvalidMessage, type OutgoingEvent, PoisonMessage } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import { type GovernancePolicy, projectMode, registeredExperts } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import { type AssignmentRecord, type CoeRequest, coeRepository as repo, type ExpertRow } from './coe.repository';
import { GovernanceMetrics } from './governance-metrics';

export interface Tx {
  manager: EntityManager;
  emit(event: OutgoingEvent): unknown;
  onCommitted(callback: () => void): void;
}

/** A rejection's reason quotes what was wrong with an answer, keys included: bounded, as the answer is not. */
const MAX_REASON = 1000;

/** Who answered a `review.submit`, verified: the actor its events carry, and its roles where they were not checked before. */
export interface VerifiedAnswerer {
  actor: Actor;
  roles?: readonly Role[];
}

/** How many requests CoE remembers as not waiting for a compliance evaluation. */
const REMEMBERED_REQUESTS = 10_000;

/**
 * The CoE's use cases. Each runs inside the transaction of the message that caused it (inbox + effects +
 * outbox commit together) and starts by locking the request row, so concurrent reviews, breaches and
 * compliance results of one request are applied one after another and exactly one decision comes out.
 */
@Injectable()
export class ReviewWorkflow {
  private readonly logger = new Logger('coe');
  /**
   * Requests this process classified, committed, without COMPLIANCE_REQUIRED: their `compliance.evaluated`
   * (two per request) changes nothing, and is dropped without a statement. A request's triggers never change
   * once stored; one not remembered here (another replica classified it, or it was forgotten) takes the
   * locking path, which comes to the same answer.
   */
  private readonly notWaitingForCompliance = new Set<string>();
  /**
   * The expert list as a transaction sees it, read once per transaction rather than once per request it
   * classifies (a batch holds several), and kept current with the slots the transaction takes and frees.
   */
  private readonly expertLists = new WeakMap<EntityManager, ExpertRow[]>();
  /** Who may answer for each expert of the policy (`principal:`); an expert no longer configured has nobody. */
  private readonly bindings: ReadonlyMap<string, ExpertBinding>;

  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: GovernanceMetrics,
  ) {
    this.bindings = new Map(registeredExperts(policy).map((e) => [e.id, { kind: e.type, runtime: e.runtime, principal: e.principal }]));
  }

  /** `risk.assessed`: triggers, tier, assignments; automated validators answer at once. */
  async classifyAndAssign(tx: Tx, assessed: RiskAssessed): Promise<void> {
    const { request, ...risk } = assessed;
    const now = new Date();
    const triggers = detectTriggers({ request, overallScore: risk.overallScore, policy: this.policy });
    const tier = triggers.length ? classifyTier({ overallScore: risk.overallScore, request, triggers, policy: this.policy }) : { tier: 0 as const, reasons: ['no trigger condition fired'] };
    // The row this transaction inserts: other transactions see (and lock) it only after the commit.
    const current: CoeRequest = {
      requestId: request.requestId,
      projectId: request.projectId,
      requester: request.requester,
      request,
      risk,
      triggers,
      tierLevel: tier.tier,
      tierReasons: tier.reasons,
      breachCount: 0,
      forcedEscalation: null,
    };
    // A re-assessment of a request already under review: the first classification stands.
    if (!(await repo.insertRequest(tx.manager, current))) return;
    if (!requiresCompliance(current)) tx.onCommitted(() => this.rememberNotWaitingForCompliance(request.requestId));
    tx.emit({
      name: 'review.classified',
      correlationId: request.requestId,
      data: {
        requestId: request.requestId,
        projectId: request.projectId,
        governanceRequired: triggers.length > 0,
        triggers,
        tierLevel: tier.tier,
        tierReasons: tier.reasons,
        classifiedAt: now.toISOString(),
      },
    });
    if (!triggers.length) {
      const decision = decideWithoutGovernance({ request, risk, now, governanceEnabled: this.policy.governance.enabled });
      await this.publishDecision(tx, { ...decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade, []);
      return;
    }
    const experts = await this.experts(tx);
    const plan = planAssignments({
      tier: tier.tier,
      request,
      risk,
      triggers,
      experts: experts.map((row) => this.toCandidate(row)),
      slaHours: this.policy.governance.sla_hours,
      now,
      newId: randomUUID,
    });
    const assignments: AssignmentRecord[] = [];
    for (const planned of plan.assignments) assignments.push(await this.assign(tx, current, planned));
    if (plan.unfilled.length) {
      const reason = `no eligible expert for ${plan.unfilled.map((u) => `${u.role} ${u.expertType} (${u.reason})`).join('; ')}`;
      await repo.setForcedEscalation(tx.manager, request.requestId, reason);
      current.forcedEscalation = reason;
    }
    // A request classified in this transaction has no decision yet, and its assignments are the ones just made.
    await this.decideWhenReady(tx, current, now, { undecided: true, assignments: sortedAsStored(assignments) });
  }

  /**
   * `review.submit` from a human (through intake) or an external automated expert, by a verified principal.
   * An answer the CoE does not take is answered with `review.rejected` and the reason, so an expert learns why
   * (intake's review API refuses the same cases over HTTP before they get here, but an assignment can close in
   * between); the refusal is returned, so that the caller records the security decisions among them.
   */
  async recordReview(tx: Tx, review: ReviewSubmit, answerer: VerifiedAnswerer): Promise<ReviewRefusal | undefined> {
    const request = await repo.lockRequest(tx.manager, review.requestId);
    const assignment = request && (await repo.assignments(tx.manager, request.requestId)).find((a) => a.assignmentId === review.assignmentId);
    const verdict = acceptReview({
      review,
      request,
      assignment,
      decided: !!request && (await repo.isDecided(tx.manager, request.requestId)),
      answerer: { subject: answerer.actor.subject, ...(answerer.roles ? { roles: answerer.roles } : {}) },
      expert: this.bindings.get(review.expertId),
    });
    if (!verdict.accepted) {
      this.rejectReview(tx, review, verdict.refusal);
      return verdict.refusal;
    }
    await this.complete(tx, verdict.request, verdict.assignment, {
      decision: review.decision,
      comments: review.comments,
      conditions: review.conditions,
      confidence: review.confidence ?? (verdict.assignment.expertKind === 'human' ? 0.9 : 0.8),
      actor: answerer.actor,
    });
    await this.decideWhenReady(tx, verdict.request, new Date());
    return undefined;
  }

  /** Answers an answer the CoE does not take with `review.rejected` (an unauthenticated one, before any rule). */
  rejectReview(tx: Tx, review: ReviewSubmit, refusal: ReviewRefusal): void {
    const { code, reason } = refusal;
    this.logger.warn(`review ${review.assignmentId} by ${review.expertId} rejected: ${reason}`);
    tx.emit({
      name: 'review.rejected',
      correlationId: review.requestId,
      data: { requestId: review.requestId, projectId: review.projectId, assignmentId: review.assignmentId, expertId: review.expertId, code, reason, rejectedAt: new Date().toISOString() },
    });
    tx.onCommitted(() => this.metrics.reviewsRejected.inc({ code }));
  }

  /**
   * A `review.submit` that failed its schema: answered with `review.rejected` (`invalid-answer`, the reason
   * naming the fields) when it names a well-formed request, assignment and expert, so that an external expert
   * learns why its answer went nowhere. One that does not has nobody to be answered: it is dead-lettered.
   * Nothing is looked up: whatever it names, the answer cannot count.
   */
  rejectInvalidReview(tx: Tx, message: InvalidMessage): void {
    const envelope = message.body as { id?: unknown; data?: unknown } | null | undefined;
    const address = ReviewAnswerAddress.safeParse(envelope?.data);
    if (!address.success) throw new PoisonMessage(`${message.reason} (it names no assignment to answer)`);
    const answer = address.data;
    const reason = message.reason.length > MAX_REASON ? `${message.reason.slice(0, MAX_REASON - 1)}…` : message.reason;
    this.logger.warn(`review ${answer.assignmentId} by ${answer.expertId} rejected: ${reason}`);
    tx.emit({
      name: 'review.rejected',
      correlationId: answer.requestId,
      causationId: Uuid.safeParse(envelope?.id).data,
      data: { ...answer, code: 'invalid-answer', reason, rejectedAt: new Date().toISOString() },
    });
    tx.onCommitted(() => this.metrics.reviewsRejected.inc({ code: 'invalid-answer' }));
  }

  /** `sla.breached`: reassign once, then a human_oversight expert, then escalate; nothing expires silently. */
  async handleBreach(tx: Tx, breach: SlaTimerFired): Promise<void> {
    const request = await repo.lockRequest(tx.manager, breach.requestId);
    if (!request || (await repo.isDecided(tx.manager, breach.requestId))) return;
    const assignments = await repo.assignments(tx.manager, request.requestId);
    const breached = assignments.find((a) => a.assignmentId === breach.assignmentId);
    if (!breached || breached.status !== 'pending') return;
    await repo.setAssignmentStatus(tx.manager, breached.assignmentId, 'breached');
    await this.releaseSlot(tx, breached.expertId);
    const now = new Date();
    const response = planBreachResponse({
      breached: { assignmentId: breached.assignmentId, expertId: breached.expertId, expertType: breached.expertType, role: breached.role, tierLevel: breached.tierLevel },
      priorBreachesForRequest: request.breachCount,
      experts: (await this.experts(tx)).map((row) => this.toCandidate(row)),
      excludedExpertIds: assignments.map((a) => a.expertId),
      requester: request.requester,
      now,
      slaHours: this.policy.governance.sla_hours,
      newId: randomUUID,
    });
    await repo.setBreachCount(tx.manager, request.requestId, request.breachCount + 1);
    request.breachCount += 1;
    tx.onCommitted(() => this.metrics.breaches.inc({ action: response.action }));
    if (response.action !== 'escalate') {
      await repo.setAssignmentStatus(tx.manager, breached.assignmentId, 'reassigned');
      await this.assign(tx, request, { ...response.assignment, supersedesAssignmentId: breached.assignmentId });
    } else {
      const reason = `SLA breached by ${breached.expertId} (${breached.expertType}) and ${response.reason}`;
      await repo.setForcedEscalation(tx.manager, request.requestId, reason);
      request.forcedEscalation = reason;
    }
    await this.decideWhenReady(tx, request, now);
  }

  /** `compliance.evaluated`: CoE approves a COMPLIANCE_REQUIRED request only on a passing evaluation. */
  async recordCompliance(tx: Tx, evaluation: ComplianceEvaluated): Promise<void> {
    if (this.notWaitingForCompliance.has(evaluation.requestId)) return;
    const request = await repo.lockRequest(tx.manager, evaluation.requestId);
    // Only a COMPLIANCE_REQUIRED request waits for an evaluation; for any other it changes nothing. One not
    // classified yet may turn out to need it, so its evaluation is kept.
    if (request && !requiresCompliance(request)) return;
    await repo.storeCompliance(tx.manager, evaluation);
    if (request) await this.decideWhenReady(tx, request, new Date());
  }

  private async experts(tx: Tx): Promise<ExpertRow[]> {
    let experts = this.expertLists.get(tx.manager);
    if (!experts) {
      experts = await repo.experts(tx.manager);
      this.expertLists.set(tx.manager, experts);
    }
    return experts;
  }

  private async takeSlot(tx: Tx, expertId: string): Promise<boolean> {
    const taken = await repo.takeSlot(tx.manager, expertId);
    if (taken) this.countOpenReview(tx, expertId, +1);
    return taken;
  }

  private async releaseSlot(tx: Tx, expertId: string): Promise<void> {
    await repo.releaseSlot(tx.manager, expertId);
    this.countOpenReview(tx, expertId, -1);
  }

  /** What `takeSlot` / `releaseSlot` did to an expert's load, in the list this transaction read (if it read one). */
  private countOpenReview(tx: Tx, expertId: string, change: 1 | -1): void {
    const expert = this.expertLists.get(tx.manager)?.find((e) => e.id === expertId);
    if (expert) expert.open_reviews = Math.max(0, expert.open_reviews + change);
  }

  private toCandidate(row: ExpertRow): ExpertCandidate {
    return toCandidate(row, this.bindings.get(row.id)?.principal ?? []);
  }

  private rememberNotWaitingForCompliance(requestId: string): void {
    this.notWaitingForCompliance.add(requestId);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.notWaitingForCompliance.size > REMEMBERED_REQUESTS) this.notWaitingForCompliance.delete(this.notWaitingForCompliance.values().next().value!);
  }

  /** Stores and announces one assignment; returns it as stored (a built-in validator's already completed). */
  private async assign(tx: Tx, request: CoeRequest, planned: PlannedAssignment & { supersedesAssignmentId?: string }): Promise<AssignmentRecord> {
    const builtin = planned.expertKind === 'automated' && planned.runtime === 'builtin';
    if (!builtin && !(await this.takeSlot(tx, planned.expertId))) {
      throw new Error(`expert ${planned.expertId} reached capacity meanwhile; planning again`);
    }
    const pending: AssignmentRecord = {
      assignmentId: planned.assignmentId,
      requestId: request.requestId,
      expertId: planned.expertId,
      expertType: planned.expertType,
      expertKind: planned.expertKind,
      runtime: planned.runtime,
      role: planned.role,
      scope: planned.scope,
      tierLevel: planned.tierLevel,
      priority: planned.priority,
      slaHours: planned.slaHours,
      assignedAt: iso(planned.assignedAt),
      slaDueAt: iso(planned.slaDueAt),
      status: 'pending',
      supersedesAssignmentId: planned.supersedesAssignmentId ?? null,
      decision: null,
      comments: null,
      conditions: [],
      confidence: null,
      completedAt: null,
    };
    // Built-in validators answer at once: their assignment is stored completed, in one statement.
    const verdict = builtin ? runBuiltinValidator({ expert: { id: pending.expertId, expertType: pending.expertType }, request: request.request, risk: request.risk }) : undefined;
    const record: AssignmentRecord = verdict ? { ...pending, status: 'completed', ...verdict, completedAt: new Date().toISOString() } : pending;
    await repo.insertAssignment(tx.manager, record);
    tx.onCommitted(() => this.metrics.assignments.inc({ expert_type: record.expertType, role: record.role }));
    const assigned: ReviewAssigned = {
      requestId: record.requestId,
      projectId: request.projectId,
      assignmentId: record.assignmentId,
      expertId: record.expertId,
      expertType: record.expertType,
      expertKind: record.expertKind,
      role: record.role,
      scope: record.scope,
      tierLevel: record.tierLevel,
      priority: record.priority,
      slaHours: record.slaHours,
      assignedAt: record.assignedAt,
      slaDueAt: record.slaDueAt,
      ...(record.supersedesAssignmentId ? { supersedesAssignmentId: record.supersedesAssignmentId } : {}),
    };
    tx.emit({ name: 'review.assigned', correlationId: request.requestId, data: assigned });
    if (record.expertKind === 'automated' && record.runtime === 'external') {
      tx.emit({
        name: 'review.requested',
        correlationId: request.requestId,
        subjectToken: record.expertId,
        data: {
          ...assigned,
          request: request.request,
          risk: { overallScore: request.risk.overallScore, riskFactors: request.risk.riskFactors },
          replySubject: `agf.v1.review.submit.${request.projectId}`,
        },
      });
    }
    if (verdict) this.announceCompleted(tx, request, record, { ...verdict, completedAt: record.completedAt! });
    return record;
  }

  /** A human's or an external expert's review: completes the assignment and frees the expert's slot. */
  private async complete(
    tx: Tx,
    request: CoeRequest,
    assignment: AssignmentRecord,
    review: { decision: 'approve' | 'reject' | 'conditional'; comments: string; conditions: string[]; confidence: number; actor: Actor },
  ): Promise<void> {
    const completedAt = new Date().toISOString();
    await repo.completeAssignment(tx.manager, assignment.assignmentId, { ...review, completedAt });
    if (!(assignment.expertKind === 'automated' && assignment.runtime === 'builtin')) await this.releaseSlot(tx, assignment.expertId);
    this.announceCompleted(tx, request, assignment, { ...review, completedAt });
  }

  private announceCompleted(
    tx: Tx,
    request: CoeRequest,
    assignment: AssignmentRecord,
    review: { decision: 'approve' | 'reject' | 'conditional'; comments: string; conditions: string[]; confidence: number; completedAt: string; actor?: Actor },
  ): void {
    const { completedAt } = review;
    tx.emit({
      name: 'review.completed',
      correlationId: request.requestId,
      data: {
        requestId: request.requestId,
        projectId: request.projectId,
        assignmentId: assignment.assignmentId,
        expertId: assignment.expertId,
        expertType: assignment.expertType,
        expertKind: assignment.expertKind,
        decision: review.decision,
        comments: review.comments,
        conditions: review.conditions,
        confidence: review.confidence,
        completedAt,
        // Who answered, verified; a built-in validator's review has nobody behind it.
        ...(review.actor ? { actor: review.actor } : {}),
      },
    });
  }

  /** `known`: what the caller already holds, so that it is not read back from the database. */
  private async decideWhenReady(tx: Tx, request: CoeRequest, now: Date, known?: { undecided: true; assignments: AssignmentRecord[] }): Promise<void> {
    if (!known && (await repo.isDecided(tx.manager, request.requestId))) return;
    const assignments = known?.assignments ?? (await repo.assignments(tx.manager, request.requestId));
    const complianceRequired = requiresCompliance(request);
    const evaluation = complianceRequired ? await repo.latestCompliance(tx.manager, request.requestId) : undefined;
    const compliance = { required: complianceRequired, ...(evaluation ? { evaluation } : {}) };
    if (!request.forcedEscalation && !isReadyToDecide(assignments, compliance)) return;
    const reviews = assignments.filter((a) => a.status === 'completed');
    // Every assignment still standing (not replaced, not cancelled) was a review the tier asked for.
    const expectedReviews = assignments.filter((a) => a.status !== 'reassigned' && a.status !== 'cancelled').length;
    const confidence = calculateConfidence({
      riskScore: request.risk.overallScore,
      reviews: reviews.map((r) => ({ decision: r.decision!, confidence: r.confidence ?? 0.5 })),
      expectedReviews,
      historicalAccuracy: request.risk.analyzers.historical.confidence,
      dataQuality: request.risk.confidence,
    });
    const decision = decide({
      request: request.request,
      risk: request.risk,
      tier: request.tierLevel,
      triggers: request.triggers,
      assignments,
      compliance,
      ...(request.forcedEscalation ? { forcedEscalation: request.forcedEscalation } : {}),
      confidence,
      minConfidence: this.policy.governance.min_confidence,
      now,
    });
    await this.publishDecision(tx, { ...decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade, assignments);
  }

  private async publishDecision(tx: Tx, decision: DecisionMade, assignments: AssignmentRecord[]): Promise<void> {
    if (projectMode(this.policy.projects, decision.projectId) === 'shadow') decision = { ...decision, shadow: true };
    if (!(await repo.insertDecision(tx.manager, decision))) return;
    // Reviews nobody needs any more are closed, so experts' load and SLA timers are released.
    for (const open of assignments.filter((a) => a.status === 'pending')) {
      await repo.setAssignmentStatus(tx.manager, open.assignmentId, 'cancelled');
      if (!(open.expertKind === 'automated' && open.runtime === 'builtin')) await this.releaseSlot(tx, open.expertId);
    }
    tx.emit({ name: 'decision.made', correlationId: decision.requestId, data: decision });
    tx.onCommitted(() => this.metrics.decisions.inc({ outcome: decision.outcome, tier: String(decision.tierLevel) }));
  }
}

/** The order `coeRepository.assignments` reads them in. */
function sortedAsStored(assignments: AssignmentRecord[]): AssignmentRecord[] {
  return [...assignments].sort((a, b) => a.assignedAt.localeCompare(b.assignedAt) || a.assignmentId.localeCompare(b.assignmentId));
}

function requiresCompliance(request: CoeRequest): boolean {
  return request.triggers.some((t) => t.condition === 'COMPLIANCE_REQUIRED');
}

function toCandidate(row: ExpertRow, principal: readonly string[]): ExpertCandidate {
  return {
    id: row.id,
    type: row.kind,
    specialties: row.specialties,
    capacity: row.capacity,
    level: row.level,
    runtime: row.runtime,
    expertType: row.expert_type,
    openReviews: row.open_reviews,
    principal,
  };
}

function iso(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

export type { DeploymentRequest };
