import { Controller, Inject } from '@nestjs/common';
import { evaluateCompliance } from '@agf/compliance-domain';
import type { CloudEvent, ComplianceEvaluated, DeploymentRequest, EventName, ReviewClassified, ReviewCompleted } from '@agf/contracts';
import { type InvalidMessage, type LaterEmitter, MessageContext, OnInvalidMessage, OnMessage } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import type { GovernancePolicy } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import { auditRepository as audit } from './audit.repository';
import { ComplianceMetrics } from './compliance-metrics';
import { type RequestState, evaluationRepository as repo } from './evaluation.repository';

/**
 * Every domain event is appended to the audit chain in the transaction that processes it (inbox + entry
 * commit together, so a redelivery adds nothing). The events that change a request's compliance picture also
 * re-evaluate its controls and publish `compliance.evaluated`, which is appended in that same transaction.
 */
@Controller()
export class ComplianceMessageController {
  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: ComplianceMetrics,
  ) {}

  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    const item: Pending<DeploymentRequest> = { value: event.data.request, requestId: event.data.requestId, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('requests', item, async (manager, items: Array<typeof item>) => {
      await repo.storeAssessedRequests(manager, items.map((i) => i.value));
      // Re-assessed or not, the request is evaluated with what is known of it.
      this.evaluateLater(items);
    });
    this.audit(event, ctx);
  }

  @OnMessage('review.assigned')
  async reviewAssigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    const a = event.data;
    await ctx.lockRequest(a.requestId);
    const assignment = { assignmentId: a.assignmentId, requestId: a.requestId, supersedes: a.supersedesAssignmentId };
    const item: Pending<typeof assignment> = { value: assignment, requestId: a.requestId, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('assignments', item, async (manager, items: Array<typeof item>) => {
      // Reviews in and one more assignment out (a batch ended between a request's assignments, or a breach
      // reassigned one): the request waits again rather than failing what the new reviewer may still satisfy.
      const waitingAgain = await repo.storeAssignments(manager, items.map((i) => i.value));
      this.evaluateLater(items.filter((i) => waitingAgain.has(i.requestId)));
    });
    this.audit(event, ctx);
  }

  @OnMessage('review.completed')
  async reviewCompleted(event: CloudEvent<'review.completed'>, ctx: MessageContext): Promise<void> {
    await this.storeReview(event.data, ctx);
    this.audit(event, ctx);
  }

  private async storeReview(r: ReviewCompleted, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(r.requestId);
    const review = {
      assignmentId: r.assignmentId,
      expertId: r.expertId,
      expertType: r.expertType,
      expertKind: r.expertKind,
      // SOC2 CC8.1 counts a person's approval only with the identity the CoE verified.
      actorSubject: r.actor?.subject ?? null,
      decision: r.decision,
      requestId: r.requestId,
    };
    const item: Pending<typeof review> = { value: review, requestId: r.requestId, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('reviews', item, async (manager, items: Array<typeof item>) => {
      const reviewed = await repo.storeReviews(manager, items.map((i) => i.value));
      // A new review evaluates its request (if the request is known: its own event evaluates it otherwise).
      this.evaluateLater(items.filter((i) => reviewed.has(i.requestId)));
    });
  }

  /** The tier says whether SOC2 CC8.1 needs a person's approval; it normally arrives before any review does. */
  @OnMessage('review.classified')
  async reviewClassified(event: CloudEvent<'review.classified'>, ctx: MessageContext): Promise<void> {
    await this.storeTier(event.data, ctx);
    this.audit(event, ctx);
  }

  private async storeTier(c: ReviewClassified, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(c.requestId);
    const classified = { requestId: c.requestId, projectId: c.projectId, tierLevel: c.tierLevel };
    const item: Pending<typeof classified> = { value: classified, requestId: c.requestId, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('tiers', item, async (manager, items: Array<typeof item>) => {
      // Only a request reviewed already is evaluated again: without reviews the tier changes nothing.
      const reviewed = await repo.storeTiers(manager, items.map((i) => i.value));
      this.evaluateLater(items.filter((i) => reviewed.has(i.requestId)));
    });
  }

  @OnMessage('intake.rejected') async intakeRejected(e: CloudEvent<'intake.rejected'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('deployment.requested') async deploymentRequested(e: CloudEvent<'deployment.requested'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('deployment.outcome') async deploymentOutcome(e: CloudEvent<'deployment.outcome'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('review.requested') async reviewRequested(e: CloudEvent<'review.requested'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('review.submit') async reviewSubmitted(e: CloudEvent<'review.submit'>, ctx: MessageContext) { this.audit(e, ctx); }
  /**
   * An expert's answer that failed its schema cannot be chained as the event it claims to be. The CoE answers
   * it with a `review.rejected` naming the fields (audited below) or dead-letters it; a second dead letter
   * from here would tell an operator nothing more.
   */
  @OnInvalidMessage('review.submit') async invalidReviewSubmitted(_message: InvalidMessage, _ctx: MessageContext) {}
  @OnMessage('review.rejected') async reviewRejected(e: CloudEvent<'review.rejected'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('sla.warning') async slaWarning(e: CloudEvent<'sla.warning'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('sla.breached') async slaBreached(e: CloudEvent<'sla.breached'>, ctx: MessageContext) { this.audit(e, ctx); }
  /** A break-glass decision makes SOC2 CC8.1 an emergency change, judged by its review after the fact. */
  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    const d = event.data;
    // Decided in one step: the classification and validators' reviews it carries count as if announced on their own.
    if (d.classification) await this.storeTier(d.classification, ctx);
    for (const review of d.validatorReviews ?? []) await this.storeReview(review, ctx);
    if (d.emergency) {
      await ctx.lockRequest(d.requestId);
      const emergency = { approvedBy: d.emergency.approvedBy.subject, afterTheFactAssignmentId: d.emergency.afterTheFactReview?.assignmentId ?? null };
      const item: Pending<typeof emergency & { projectId: string }> = { value: { ...emergency, projectId: d.projectId }, requestId: d.requestId, ctx, emit: ctx.emitterForLater() };
      ctx.writeLater('emergencies', item, async (manager, items: Array<typeof item>) => {
        await repo.storeEmergencies(manager, items.map((i) => ({ requestId: i.requestId, projectId: i.value.projectId, emergency: { approvedBy: i.value.approvedBy, afterTheFactAssignmentId: i.value.afterTheFactAssignmentId } })));
        this.evaluateLater(items);
      });
    }
    this.audit(event, ctx);
  }

  /** An assignment the CoE closed is no longer waited for. */
  @OnMessage('review.cancelled')
  async reviewCancelled(event: CloudEvent<'review.cancelled'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    const cancelled = { assignmentId: event.data.assignmentId, requestId: event.data.requestId };
    ctx.writeLater('cancelled', cancelled, (manager, items: Array<typeof cancelled>) => repo.cancelAssignments(manager, items));
    this.audit(event, ctx);
  }

  @OnMessage('decision.escalated') async decisionEscalated(e: CloudEvent<'decision.escalated'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('deployment.break_glass') async breakGlass(e: CloudEvent<'deployment.break_glass'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('learning.model.updated') async modelUpdated(e: CloudEvent<'learning.model.updated'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('learning.pattern.captured') async patternCaptured(e: CloudEvent<'learning.pattern.captured'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('access.key.issued') async keyIssued(e: CloudEvent<'access.key.issued'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('access.key.revoked') async keyRevoked(e: CloudEvent<'access.key.revoked'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('security.refused') async accessRefused(e: CloudEvent<'security.refused'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('security.audit.read') async auditTrailRead(e: CloudEvent<'security.audit.read'>, ctx: MessageContext) { this.audit(e, ctx); }
  /** What each service erased, and what each retention run removed: evidence of the data lifecycle (names nobody). */
  @OnMessage('privacy.erasure.applied') async erasureApplied(e: CloudEvent<'privacy.erasure.applied'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('privacy.retention.applied') async retentionApplied(e: CloudEvent<'privacy.retention.applied'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('registry.expert.changed') async expertRegistryChanged(e: CloudEvent<'registry.expert.changed'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('registry.project.mode_changed') async projectModeChanged(e: CloudEvent<'registry.project.mode_changed'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('rollout.progressed') async rolloutProgressed(e: CloudEvent<'rollout.progressed'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('rollout.evaluated') async rolloutEvaluated(e: CloudEvent<'rollout.evaluated'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('rollback.requested') async rollbackRequested(e: CloudEvent<'rollback.requested'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('rollback.escalated') async rollbackEscalated(e: CloudEvent<'rollback.escalated'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('rollback.completed') async rollbackCompleted(e: CloudEvent<'rollback.completed'>, ctx: MessageContext) { this.audit(e, ctx); }

  /**
   * Appended to the hash chain at the end of the transaction, with the other events of its batch and after
   * its other writes: the chain head stays locked until the commit, so every other batch's appending waits.
   */
  private audit(event: CloudEvent<EventName>, ctx: MessageContext): void {
    ctx.writeLater(
      'audit',
      event,
      async (manager, events: CloudEvent<EventName>[]) => {
        const types = await audit.appendAll(manager, events);
        ctx.onCommitted(() => {
          for (const type of types) this.metrics.audited.inc({ type });
          if (types.length) this.metrics.chained.inc(types.length);
        });
      },
      { last: true },
    );
  }

  /**
   * Re-evaluates the controls of these requests after the batch's requests, assignments and reviews are
   * stored (the kinds a handler leaves come first; this one is left by their writes): a batch holding several
   * of a request's events (its assessment and the reviews that follow it at once, say) publishes one
   * evaluation, on the state they leave, instead of one each.
   */
  private evaluateLater(items: Array<Pending<unknown>>): void {
    for (const { requestId, ctx, emit } of items) {
      ctx.writeLater('evaluation', { requestId, ctx, emit }, (manager, pending: PendingEvaluation[]) => this.evaluateLatest(manager, pending));
    }
  }

  private async evaluateLatest(manager: EntityManager, items: PendingEvaluation[]): Promise<void> {
    // The last message of each request evaluates it, on the state the whole batch left.
    const latest = new Map(items.map((item) => [item.requestId, item]));
    const evaluations = (await repo.states(manager, [...latest.keys()]))
      .filter((state) => state.request)
      .map((state) => {
        const { ctx, emit } = latest.get(state.requestId)!;
        const result = evaluateCompliance(this.policy.compliance.rules, {
          request: state.request!,
          riskAssessed: state.riskAssessed,
          reviews: state.reviews,
          openAssignments: state.openAssignments,
          ...(state.tierLevel === null ? {} : { tierLevel: state.tierLevel }),
          ...(state.emergency ? { emergency: state.emergency } : {}),
        });
        const evaluation: ComplianceEvaluated = { requestId: state.requestId, projectId: state.projectId, ...result, evaluatedAt: new Date().toISOString() };
        if (saysNothingNew(state, evaluation)) return evaluation;
        // Audited here, after its cause, rather than read back from the stream: two deliveries fewer per request.
        this.audit(emit({ name: 'compliance.evaluated', correlationId: state.requestId, data: evaluation }), ctx);
        ctx.onCommitted(() => this.metrics.evaluations.inc({ result: evaluation.passed ? 'passed' : evaluation.pending ? 'pending' : 'failed' }));
        return evaluation;
      });
    if (evaluations.length) await repo.saveEvaluations(manager, evaluations);
  }
}

/**
 * An evaluation of a request on its assessment alone (no review, no assignment, no break-glass) that fails
 * nothing is pending by construction, which is what every subscriber assumes of a request with no evaluation:
 * it is kept as the request's latest (what `GET /v1/compliance/:requestId` answers) but not published. A
 * tier-0 request then has one evaluation, once its validator answered, instead of one more whenever its
 * assessment and that answer reached compliance in different batches (the CoE and intake read each).
 */
function saysNothingNew(state: RequestState, evaluation: ComplianceEvaluated): boolean {
  return evaluation.pending && !state.reviews.length && !state.openAssignments && !state.emergency;
}

/** A message's item for a write left to the end of the transaction, and what its evaluation needs. */
interface Pending<T> {
  value: T;
  requestId: string;
  ctx: MessageContext;
  emit: LaterEmitter;
}

type PendingEvaluation = Omit<Pending<unknown>, 'value'>;
