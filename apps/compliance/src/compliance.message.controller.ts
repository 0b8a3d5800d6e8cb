import { Controller, Inject } from '@nestjs/common';
import { evaluateCompliance } from '@agf/compliance-domain';
import type { CloudEvent, ComplianceEvaluated, EventName } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
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
    const state = await repo.recordAssessedRequest(ctx.manager, event.data.request);
    this.audit(event, ctx);
    this.evaluateLater(state, ctx);
  }

  @OnMessage('review.assigned')
  async reviewAssigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    await repo.recordAssignment(ctx.manager, event.data.assignmentId, event.data.requestId, event.data.supersedesAssignmentId);
    this.audit(event, ctx);
  }

  @OnMessage('review.completed')
  async reviewCompleted(event: CloudEvent<'review.completed'>, ctx: MessageContext): Promise<void> {
    const r = event.data;
    await ctx.lockRequest(r.requestId);
    const { state } = await repo.recordReview(ctx.manager, r.requestId, { assignmentId: r.assignmentId, expertId: r.expertId, expertType: r.expertType, decision: r.decision });
    this.audit(event, ctx);
    // A new review of a request already known: evaluate with it (the request's own event evaluates otherwise).
    if (state) this.evaluateLater(state, ctx);
  }

  @OnMessage('intake.rejected') async intakeRejected(e: CloudEvent<'intake.rejected'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('deployment.requested') async deploymentRequested(e: CloudEvent<'deployment.requested'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('deployment.outcome') async deploymentOutcome(e: CloudEvent<'deployment.outcome'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('review.classified') async reviewClassified(e: CloudEvent<'review.classified'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('review.requested') async reviewRequested(e: CloudEvent<'review.requested'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('review.submit') async reviewSubmitted(e: CloudEvent<'review.submit'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('sla.warning') async slaWarning(e: CloudEvent<'sla.warning'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('sla.breached') async slaBreached(e: CloudEvent<'sla.breached'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('decision.made') async decisionMade(e: CloudEvent<'decision.made'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('learning.model.updated') async modelUpdated(e: CloudEvent<'learning.model.updated'>, ctx: MessageContext) { this.audit(e, ctx); }
  @OnMessage('learning.pattern.captured') async patternCaptured(e: CloudEvent<'learning.pattern.captured'>, ctx: MessageContext) { this.audit(e, ctx); }

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
          types.forEach((type) => this.metrics.audited.inc({ type }));
          if (types.length) this.metrics.chained.inc(types.length);
        });
      },
      { last: true },
    );
  }

  /**
   * Re-evaluates the controls once the request itself is known (reviews that came first are already stored),
   * at the end of the transaction: a batch holding several of a request's events (its assessment and the
   * reviews that follow it at once, say) publishes one evaluation, on the latest state, instead of one each.
   */
  private evaluateLater(state: RequestState, ctx: MessageContext): void {
    if (!state.request) return;
    ctx.writeLater('evaluation', { state, ctx, emit: ctx.emitterForLater() }, (manager, items: PendingEvaluation[]) => this.evaluateLatest(manager, items));
  }

  private async evaluateLatest(manager: EntityManager, items: PendingEvaluation[]): Promise<void> {
    // In batch order, so a request's last item holds every review stored before it in this transaction.
    const latest = [...new Map(items.map((item) => [item.state.requestId, item])).values()];
    const evaluations = latest.map(({ state, ctx, emit }) => {
      const result = evaluateCompliance(this.policy.compliance.rules, {
        request: state.request!,
        riskAssessed: state.riskAssessed,
        reviews: state.reviews,
        openAssignments: state.openAssignments,
      });
      const evaluation: ComplianceEvaluated = { requestId: state.requestId, projectId: state.projectId, ...result, evaluatedAt: new Date().toISOString() };
      // Audited here, after its cause, rather than read back from the stream: two deliveries fewer per request.
      this.audit(emit({ name: 'compliance.evaluated', correlationId: state.requestId, data: evaluation }), ctx);
      ctx.onCommitted(() => this.metrics.evaluations.inc({ result: evaluation.passed ? 'passed' : evaluation.pending ? 'pending' : 'failed' }));
      return evaluation;
    });
    await repo.saveEvaluations(manager, evaluations);
  }
}

interface PendingEvaluation {
  state: RequestState;
  ctx: MessageContext;
  emit: ReturnType<MessageContext['emitterForLater']>;
}
