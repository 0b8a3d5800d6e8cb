import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type Actor,
  type BreakGlassRequested,
  type ComplianceEvaluated,
  type DecisionMade,
  type DeploymentRequest,
  type EscalationReason,
  newId,
  type ReviewAssigned,
  type ReviewClassified,
  type ReviewCompleted,
  ReviewAnswerAddress,
  type ReviewSubmit,
  type RiskAssessed,
  type ProjectModeView,
  type Role,
  type SlaTimerFired,
  Uuid,
} from '@agf/contracts';
import {
  acceptReview,
  type AssignmentPurpose,
  calculateConfidence,
  classifyTier,
  decide,
  decideEmergency,
  decideWithoutGovernance,
  detectTriggers,
  escalationChainProblems,
  type ExpertBinding,
  type ExpertCandidate,
  nextStep,
  type PlannedAssignment,
  planAfterTheFactReview,
  planAssignments,
  planBreachResponse,
  planEscalation,
  planFallbacks,
  requestAreas,
  type ReviewRefusal,
  runBuiltinValidator,
} from '@agf/coe-domain';
import { type InvalidMessage, type OutgoingEvent, PoisonMessage } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import { type GovernancePolicy, registeredExperts } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import { type AssignmentRecord, type CoeRequest, coeRepository as repo, type ExpertRow } from './coe.repository';
import { GovernanceMetrics } from './governance-metrics';
import { effectiveProjectMode, projectModeView } from './projects/project-modes';

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
  /** Project gate modes a transaction read already (with the request it classified), by project id. */
  private readonly projectModes = new WeakMap<EntityManager, Map<string, ProjectModeView>>();
  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: GovernanceMetrics,
  ) {
    // Not a refusal to start (a test registry may lack oversight): an escalation with nobody ends ESCALATE_TO_HUMAN.
    for (const problem of escalationChainProblems(policy.escalation.chain, registeredExperts(policy))) this.logger.warn(problem);
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
      unfilled: [],
    };
    // A re-assessment of a request already under review: the first classification stands.
    // The experts come with it for the batch's first request that needs them.
    const inserted = await repo.insertRequest(tx.manager, current, { withExperts: triggers.length > 0 && !this.expertLists.has(tx.manager) });
    if (!inserted) return;
    if (inserted.experts) this.expertLists.set(tx.manager, inserted.experts);
    this.rememberProjectMode(tx.manager, projectModeView(this.policy, request.projectId, inserted.storedMode));
    if (!requiresCompliance(current)) tx.onCommitted(() => this.rememberNotWaitingForCompliance(request.requestId));
    const classification: ReviewClassified = {
      requestId: request.requestId,
      projectId: request.projectId,
      governanceRequired: triggers.length > 0,
      triggers,
      tierLevel: tier.tier,
      tierReasons: tier.reasons,
      classifiedAt: now.toISOString(),
    };
    if (!triggers.length) {
      const decision = decideWithoutGovernance({ request, risk, now, governanceEnabled: this.policy.governance.enabled });
      await this.publishDecision(tx, { ...decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade, [], { classification, reviews: [] });
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
      newId,
    });
    // A type nobody can take falls back to the configured types; what stays unfilled escalates once the rest is in.
    const fallbacks = plan.unfilled.length
      ? planFallbacks({
          unfilled: plan.unfilled,
          fallback: this.policy.escalation.fallback,
          experts: experts.map((row) => this.toCandidate(row)),
          requester: request.requester,
          avoid: plan.assignments.map((a) => a.expertId),
          tier: tier.tier,
          slaHours: this.policy.governance.sla_hours[`tier_${tier.tier}`],
          now,
          newId,
        })
      : { assignments: [], unfilled: [] };
    const planned = [...plan.assignments, ...fallbacks.assignments];
    // Built-in validators alone, nothing unfilled, no compliance evaluation to wait for: the request is decided
    // in this transaction (unless the validators' confidence sends it to a person), so its classification and
    // reviews are held for the decision rather than announced on their own.
    const held: HeldAnnouncements | undefined =
      planned.length && !fallbacks.unfilled.length && !requiresCompliance(current) && planned.every((a) => a.expertKind === 'automated' && a.runtime === 'builtin')
        ? { classification, reviews: [] }
        : undefined;
    if (!held) tx.emit({ name: 'review.classified', correlationId: request.requestId, data: classification });
    const assignments: AssignmentRecord[] = [];
    for (const next of planned) assignments.push(await this.assign(tx, current, next, undefined, held, { storedByCaller: true }));
    if (held && (await this.decideWithAssignments(tx, current, now, sortedAsStored(assignments), held))) return;
    // One statement stores them all and reads whether a break-glass came before the request was classified.
    const breakGlass = await repo.insertAssignmentsAndWaitingBreakGlass(tx.manager, request.requestId, assignments);
    if (fallbacks.unfilled.length) {
      await repo.setUnfilled(tx.manager, request.requestId, fallbacks.unfilled);
      current.unfilled = fallbacks.unfilled;
    }
    // A break-glass that came before the request was classified applies now.
    if (breakGlass) {
      if (held) this.announce(tx, held);
      await this.approveAsEmergency(tx, current, breakGlass, sortedAsStored(assignments));
      return;
    }
    // A request classified in this transaction has no decision yet, and its assignments are the ones just made.
    await this.advance(tx, current, now, { undecided: true, assignments: sortedAsStored(assignments) }, held);
  }

  /**
   * A request its built-in validators decide at once: the decision is stored by the statement that stores their
   * assignments, unless a break-glass came before the request was classified (then that applies, as it would
   * have). False when the validators' answers do not decide it: the caller stores the assignments and goes on.
   */
  private async decideWithAssignments(tx: Tx, request: CoeRequest, now: Date, assignments: AssignmentRecord[], held: HeldAnnouncements): Promise<boolean> {
    const step = this.nextStepOf(request, now, assignments, { required: false });
    if (step.kind !== 'decide') return false;
    const decision = await this.inProjectMode(tx, { ...step.decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade);
    const stored = await repo.insertAssignmentsAndDecisionUnlessBreakGlass(tx.manager, request.requestId, assignments, decision);
    if (stored.breakGlass) {
      this.announce(tx, held);
      await this.approveAsEmergency(tx, request, stored.breakGlass, assignments);
    } else if (stored.decided) {
      await this.announceDecision(tx, decision, assignments, held);
    }
    return true;
  }

  /** Announces held events on their own after all: the request was not decided in the step that made them. */
  private announce(tx: Tx, held: HeldAnnouncements): void {
    tx.emit({ name: 'review.classified', correlationId: held.classification.requestId, data: held.classification });
    for (const review of held.reviews) tx.emit({ name: 'review.completed', correlationId: review.requestId, data: review });
  }

  /**
   * `deployment.break_glass`: an undecided request is approved at once as an emergency change, with a
   * mandatory after-the-fact review by oversight; a decided one is left as it is (a redelivery, or too late).
   */
  async breakGlass(tx: Tx, event: BreakGlassRequested): Promise<void> {
    const request = await repo.lockRequest(tx.manager, event.requestId);
    if (!request) {
      await repo.storeBreakGlass(tx.manager, event);
      return;
    }
    if (await repo.isDecided(tx.manager, request.requestId)) return;
    await this.approveAsEmergency(tx, request, event, await repo.assignments(tx.manager, request.requestId));
  }

  private async approveAsEmergency(tx: Tx, request: CoeRequest, event: BreakGlassRequested, assignments: AssignmentRecord[]): Promise<void> {
    const now = new Date();
    const review = planAfterTheFactReview({
      experts: (await this.experts(tx)).map((row) => this.toCandidate(row)),
      requester: request.requester,
      avoid: [],
      breakGlassSubject: event.actor.subject,
      tier: request.tierLevel,
      slaHours: this.policy.escalation.break_glass_review_sla_hours,
      now,
      newId,
    });
    if (!review) this.logger.warn(`break-glass of ${request.requestId}: no human_oversight expert can review it after the fact`);
    const draft = decideEmergency({
      request: request.request,
      risk: request.risk,
      tier: request.tierLevel,
      triggers: request.triggers,
      assignments: assignments.map((a) => (isOpen(a) ? { ...a, status: 'cancelled' as const } : a)),
      justification: event.justification,
      approvedBy: event.actor,
      afterTheFactReview: review,
      now,
    });
    await this.publishDecision(tx, { ...draft, requestId: request.requestId, projectId: request.projectId } as DecisionMade, assignments);
    if (review) await this.assign(tx, request, review, { purpose: 'after-the-fact', escalation: null, anyCapacity: true });
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
      // The review after a break-glass approval is answered after the decision, by design.
      decided: !!request && assignment?.purpose !== 'after-the-fact' && (await repo.isDecided(tx.manager, request.requestId)),
      answerer: { subject: answerer.actor.subject, ...(answerer.roles ? { roles: answerer.roles } : {}) },
      expert: await this.binding(tx, review.expertId),
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
    if (verdict.assignment.purpose !== 'after-the-fact') await this.advance(tx, verdict.request, new Date());
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

  /**
   * `sla.breached`: a review is reassigned once where the policy allows, else it has run out of time (and the
   * request escalates once the other reviews are in); a breached escalation moves up the chain.
   */
  async handleBreach(tx: Tx, breach: SlaTimerFired): Promise<void> {
    const request = await repo.lockRequest(tx.manager, breach.requestId);
    if (!request || (await repo.isDecided(tx.manager, breach.requestId))) return;
    const assignments = await repo.assignments(tx.manager, request.requestId);
    const breached = assignments.find((a) => a.assignmentId === breach.assignmentId);
    if (!breached || breached.status !== 'pending') return;
    await repo.setAssignmentStatus(tx.manager, breached.assignmentId, 'breached');
    breached.status = 'breached';
    await this.releaseSlot(tx, breached.expertId);
    const now = new Date();
    await repo.setBreachCount(tx.manager, request.requestId, request.breachCount + 1);
    if (breached.purpose === 'escalation') {
      tx.onCommitted(() => this.metrics.breaches.inc({ action: 'escalate' }));
      await this.advance(tx, request, now, { undecided: true, assignments });
      return;
    }
    const response = planBreachResponse({
      breached: { assignmentId: breached.assignmentId, expertId: breached.expertId, expertType: breached.expertType, role: breached.role, tierLevel: breached.tierLevel },
      priorBreachesForRequest: request.breachCount,
      experts: (await this.experts(tx)).map((row) => this.toCandidate(row)),
      excludedExpertIds: assignments.map((a) => a.expertId),
      requester: request.requester,
      now,
      slaHours: this.policy.governance.sla_hours,
      newId,
      areas: requestAreas(request.request, request.triggers),
    });
    request.breachCount += 1;
    // Handing the review to oversight is the escalation's job now: whoever it goes to there decides.
    const action = response.action === 'reassign' ? 'reassign' : 'escalate';
    tx.onCommitted(() => this.metrics.breaches.inc({ action }));
    if (response.action === 'reassign') {
      await repo.setAssignmentStatus(tx.manager, breached.assignmentId, 'reassigned');
      await this.assign(tx, request, { ...response.assignment, supersedesAssignmentId: breached.assignmentId });
    }
    await this.advance(tx, request, now);
  }

  /** `compliance.evaluated`: CoE approves a COMPLIANCE_REQUIRED request only on a passing evaluation. */
  async recordCompliance(tx: Tx, evaluation: ComplianceEvaluated): Promise<void> {
    if (this.notWaitingForCompliance.has(evaluation.requestId)) return;
    const request = await repo.lockRequest(tx.manager, evaluation.requestId);
    // Only a COMPLIANCE_REQUIRED request waits for an evaluation; for any other it changes nothing. One not
    // classified yet may turn out to need it, so its evaluation is kept.
    if (request && !requiresCompliance(request)) return;
    await repo.storeCompliance(tx.manager, evaluation);
    if (request) await this.advance(tx, request, new Date());
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
    return toCandidate(row);
  }

  /**
   * Who may answer for an expert: its `principal` in the registry table (seeded from agf-config.yaml, managed
   * through `/v1/experts`), so an expert added through the API is answered for without a restart. A removed
   * (deactivated) expert has nobody.
   */
  private async binding(tx: Tx, expertId: string): Promise<ExpertBinding | undefined> {
    const row = (await this.experts(tx)).find((e) => e.id === expertId);
    return row && { kind: row.kind, runtime: row.runtime, principal: row.principal };
  }

  private rememberNotWaitingForCompliance(requestId: string): void {
    this.notWaitingForCompliance.add(requestId);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.notWaitingForCompliance.size > REMEMBERED_REQUESTS) this.notWaitingForCompliance.delete(this.notWaitingForCompliance.values().next().value!);
  }

  /**
   * Stores and announces one assignment; returns it as stored (a built-in validator's already completed).
   * `storedByCaller`: the caller stores it with the others it makes (nothing reads it back before then).
   */
  private async assign(
    tx: Tx,
    request: CoeRequest,
    planned: PlannedAssignment & { supersedesAssignmentId?: string },
    purpose: { purpose: AssignmentPurpose; escalation: { level: number; reason: EscalationReason } | null; anyCapacity: boolean } = { purpose: 'review', escalation: null, anyCapacity: false },
    held?: HeldAnnouncements,
    { storedByCaller }: { storedByCaller: boolean } = { storedByCaller: false },
  ): Promise<AssignmentRecord> {
    const builtin = planned.expertKind === 'automated' && planned.runtime === 'builtin';
    if (!builtin && purpose.anyCapacity) {
      await repo.takeSlotAnyway(tx.manager, planned.expertId);
      this.countOpenReview(tx, planned.expertId, +1);
    } else if (!builtin && !(await this.takeSlot(tx, planned.expertId))) {
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
      purpose: purpose.purpose,
      escalation: purpose.escalation,
      actor: null,
    };
    // Built-in validators answer at once: their assignment is stored completed, in one statement.
    const verdict = builtin ? runBuiltinValidator({ expert: { id: pending.expertId, expertType: pending.expertType }, request: request.request, risk: request.risk }) : undefined;
    const record: AssignmentRecord = verdict ? { ...pending, status: 'completed', ...verdict, completedAt: new Date().toISOString() } : pending;
    if (!storedByCaller) await repo.insertAssignment(tx.manager, record);
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
    // A built-in validator's assignment is announced inside its review.completed: it is never open.
    if (!verdict) tx.emit({ name: 'review.assigned', correlationId: request.requestId, data: assigned });
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
    if (verdict) this.announceCompleted(tx, request, record, { ...verdict, completedAt: record.completedAt! }, assigned, held);
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
    // A breached assignment's slot was freed at the breach.
    if (assignment.status === 'pending' && !(assignment.expertKind === 'automated' && assignment.runtime === 'builtin')) await this.releaseSlot(tx, assignment.expertId);
    this.announceCompleted(tx, request, assignment, { ...review, completedAt });
  }

  private announceCompleted(
    tx: Tx,
    request: CoeRequest,
    assignment: AssignmentRecord,
    review: { decision: 'approve' | 'reject' | 'conditional'; comments: string; conditions: string[]; confidence: number; completedAt: string; actor?: Actor },
    answeredAsAssigned?: ReviewAssigned,
    held?: HeldAnnouncements,
  ): void {
    const { completedAt } = review;
    const completed: ReviewCompleted = {
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
      ...(answeredAsAssigned ? { assignment: answeredAsAssigned } : {}),
    };
    if (held) held.reviews.push(completed);
    else tx.emit({ name: 'review.completed', correlationId: request.requestId, data: completed });
  }

  /**
   * Takes the request's next step (see `nextStep`): wait, decide, or escalate to a named person.
   * `known`: what the caller already holds, so that it is not read back from the database.
   */
  private async advance(tx: Tx, request: CoeRequest, now: Date, known?: { undecided: true; assignments: AssignmentRecord[] }, held?: HeldAnnouncements): Promise<void> {
    if (!known && (await repo.isDecided(tx.manager, request.requestId))) return;
    const assignments = known?.assignments ?? (await repo.assignments(tx.manager, request.requestId));
    const complianceRequired = requiresCompliance(request);
    const evaluation = complianceRequired ? await repo.latestCompliance(tx.manager, request.requestId) : undefined;
    const step = this.nextStepOf(request, now, assignments, { required: complianceRequired, ...(evaluation ? { evaluation } : {}) });
    if (step.kind === 'decide') {
      await this.publishDecision(tx, { ...step.decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade, assignments, held);
      return;
    }
    if (held) this.announce(tx, held);
    if (step.kind === 'wait') return;
    await this.escalate(tx, request, assignments, { reason: step.reason, level: step.level, detail: step.detail }, now);
  }

  /**
   * Gives the request to a person of the chain step, who must decide it by the step's SLA: their assignment and
   * `decision.escalated` in this transaction; the request stays open. A breached step is replaced by this one.
   * Only a chain without any human ends the request ESCALATE_TO_HUMAN (the start-up log warned of it).
   */
  private async escalate(tx: Tx, request: CoeRequest, assignments: AssignmentRecord[], step: { reason: EscalationReason; level: number; detail: string }, now: Date): Promise<void> {
    const previous = assignments.filter((a) => a.purpose === 'escalation' && a.status === 'breached');
    const plan = planEscalation({
      chain: this.policy.escalation.chain,
      level: step.level,
      reason: step.reason,
      detail: step.detail,
      experts: (await this.experts(tx)).map((row) => this.toCandidate(row)),
      requester: request.requester,
      avoid: previous.map((a) => a.expertId),
      tier: request.tierLevel,
      slaHours: this.policy.escalation.sla_hours,
      now,
      newId,
    });
    if (!plan) {
      this.logger.warn(`request ${request.requestId}: nobody in the escalation chain can decide it; ESCALATE_TO_HUMAN as a last resort`);
      const confidence = calculateConfidence({ riskScore: request.risk.overallScore, reviews: [], expectedReviews: 1, historicalAccuracy: request.risk.analyzers.historical.confidence, dataQuality: request.risk.confidence });
      const decision = decide({
        request: request.request,
        risk: request.risk,
        tier: request.tierLevel,
        triggers: request.triggers,
        assignments,
        compliance: { required: false },
        forcedEscalation: `${step.detail}, and no human of the escalation chain (${this.policy.escalation.chain.join(', ')}) is configured`,
        confidence,
        minConfidence: this.policy.governance.min_confidence,
        now,
      });
      await this.publishDecision(tx, { ...decision, requestId: request.requestId, projectId: request.projectId } as DecisionMade, assignments);
      return;
    }
    for (const old of previous) await repo.setAssignmentStatus(tx.manager, old.assignmentId, 'reassigned');
    const superseded = previous.at(-1)?.assignmentId;
    const record = await this.assign(tx, request, { ...plan.assignment, ...(superseded ? { supersedesAssignmentId: superseded } : {}) }, {
      purpose: 'escalation',
      escalation: { level: plan.level, reason: step.reason },
      anyCapacity: true,
    });
    tx.emit({
      name: 'decision.escalated',
      correlationId: request.requestId,
      data: {
        requestId: request.requestId,
        projectId: request.projectId,
        componentName: request.request.componentName,
        version: request.request.version,
        tierLevel: request.tierLevel,
        riskScore: request.risk.overallScore,
        reason: step.reason,
        detail: step.detail,
        level: plan.level,
        expertType: plan.expertType,
        assignees: [{ assignmentId: record.assignmentId, expertId: record.expertId }],
        dueAt: record.slaDueAt,
        escalatedAt: record.assignedAt,
      },
    });
    tx.onCommitted(() => this.metrics.escalations.inc({ reason: step.reason, level: String(plan.level) }));
  }

  private rememberProjectMode(manager: EntityManager, mode: ProjectModeView): void {
    const modes = this.projectModes.get(manager) ?? new Map<string, ProjectModeView>();
    modes.set(mode.projectId, mode);
    this.projectModes.set(manager, modes);
  }

  /** The request's next step on its assignments and compliance as they are (`nextStep`). */
  private nextStepOf(request: CoeRequest, now: Date, assignments: AssignmentRecord[], compliance: Parameters<typeof nextStep>[0]['compliance']): ReturnType<typeof nextStep> {
    return nextStep({
      request: request.request,
      risk: request.risk,
      tier: request.tierLevel,
      triggers: request.triggers,
      assignments,
      unfilled: request.unfilled,
      compliance,
      minConfidence: this.policy.governance.min_confidence,
      escalation: this.policy.escalation,
      legacyForcedEscalation: request.forcedEscalation,
      now,
    });
  }

  /** The decision as its project's gate mode has it: marked `shadow` in a project that only watches. */
  private async inProjectMode(tx: Tx, decision: DecisionMade): Promise<DecisionMade> {
    const mode = this.projectModes.get(tx.manager)?.get(decision.projectId) ?? (await effectiveProjectMode(tx.manager, this.policy, decision.projectId));
    return mode.mode === 'shadow' ? { ...decision, shadow: true } : decision;
  }

  /** Records the one decision of the request and announces it (`announceDecision`). */
  private async publishDecision(tx: Tx, decision: DecisionMade, assignments: AssignmentRecord[], held?: HeldAnnouncements): Promise<void> {
    decision = await this.inProjectMode(tx, decision);
    if (!(await repo.insertDecision(tx.manager, decision))) return;
    await this.announceDecision(tx, decision, assignments, held);
  }

  /**
   * Publishes a stored decision. Every assignment still open is cancelled with `review.cancelled` (its reviewer
   * is told, its SLA timers stop, its expert's slot is freed).
   */
  private async announceDecision(tx: Tx, decision: DecisionMade, assignments: AssignmentRecord[], held?: HeldAnnouncements): Promise<void> {
    if (held) decision = { ...decision, classification: held.classification, ...(held.reviews.length ? { validatorReviews: held.reviews } : {}) };
    const cancelledAt = new Date().toISOString();
    for (const open of assignments.filter(isOpen)) {
      await repo.setAssignmentStatus(tx.manager, open.assignmentId, 'cancelled');
      // A breached assignment's slot was freed at the breach.
      if (open.status === 'pending' && !(open.expertKind === 'automated' && open.runtime === 'builtin')) await this.releaseSlot(tx, open.expertId);
      tx.emit({
        name: 'review.cancelled',
        correlationId: decision.requestId,
        data: { requestId: decision.requestId, projectId: decision.projectId, assignmentId: open.assignmentId, expertId: open.expertId, reason: 'decided', cancelledAt },
      });
    }
    tx.emit({ name: 'decision.made', correlationId: decision.requestId, data: decision });
    tx.onCommitted(() => this.metrics.decisions.inc({ outcome: decision.outcome, tier: String(decision.tierLevel) }));
  }
}

/** What a request decided in the step that classified it carries in its `decision.made` instead of events of its own. */
interface HeldAnnouncements {
  classification: ReviewClassified;
  reviews: ReviewCompleted[];
}

/** Still waiting for an answer: pending, or breached and not replaced. */
function isOpen(a: AssignmentRecord): boolean {
  return a.status === 'pending' || a.status === 'breached';
}

/** The order `coeRepository.assignments` reads them in. */
function sortedAsStored(assignments: AssignmentRecord[]): AssignmentRecord[] {
  return [...assignments].sort((a, b) => a.assignedAt.localeCompare(b.assignedAt) || a.assignmentId.localeCompare(b.assignmentId));
}

function requiresCompliance(request: CoeRequest): boolean {
  return request.triggers.some((t) => t.condition === 'COMPLIANCE_REQUIRED');
}

function toCandidate(row: ExpertRow): ExpertCandidate {
  return {
    id: row.id,
    type: row.kind,
    specialties: row.specialties,
    capacity: row.capacity,
    level: row.level,
    runtime: row.runtime,
    expertType: row.expert_type,
    openReviews: row.open_reviews,
    principal: row.principal,
    available: row.available,
    away: row.away_from && row.away_until ? { from: iso(row.away_from), until: iso(row.away_until) } : null,
  };
}

function iso(value: Date | string): string {
  return typeof value === 'string' ? value : value.toISOString();
}

export type { DeploymentRequest };
