import { Controller } from '@nestjs/common';
import { type CloudEvent, type DecisionMade, decisionAlone, type ReviewCompleted } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import type { EntityManager } from 'typeorm';
import { Attestations } from '../attestations/attestations';
import { DecisionWaiters } from '../decisions/decision-waiters';
import { requestEventsCommitted } from '../request-events/request-events.store';
import { projectReadModelEvents, type ReadModelEvent } from './read-model.projection';

/**
 * Keeps intake's request status read model current from the domain events. Each handler leaves its event to
 * the end of the transaction, where the events of the whole batch are applied set-based
 * (`projectReadModelEvents`): one statement per kind of event rather than one or two per event.
 */
@Controller()
export class ReadModelMessageController {
  constructor(
    private readonly waiters: DecisionWaiters,
    private readonly attestations: Attestations,
  ) {}

  @OnMessage('risk.assessed') async riskAssessed(e: CloudEvent<'risk.assessed'>, ctx: MessageContext) { this.project(ctx, { name: 'risk.assessed', data: e.data }); }
  @OnMessage('review.classified') async classified(e: CloudEvent<'review.classified'>, ctx: MessageContext) { this.project(ctx, { name: 'review.classified', data: e.data }); }
  @OnMessage('review.assigned') async assigned(e: CloudEvent<'review.assigned'>, ctx: MessageContext) { this.project(ctx, { name: 'review.assigned', data: e.data }); }
  @OnMessage('review.completed') async completed(e: CloudEvent<'review.completed'>, ctx: MessageContext) { this.projectReview(ctx, e.data); }
  @OnMessage('review.rejected') async rejected(e: CloudEvent<'review.rejected'>, ctx: MessageContext) { this.project(ctx, { name: 'review.rejected', data: e.data, eventId: e.id }); }
  @OnMessage('sla.warning') async slaWarning(e: CloudEvent<'sla.warning'>, ctx: MessageContext) { this.project(ctx, { name: 'sla.warning', data: e.data }); }
  @OnMessage('sla.breached') async slaBreached(e: CloudEvent<'sla.breached'>, ctx: MessageContext) { this.project(ctx, { name: 'sla.breached', data: e.data }); }
  @OnMessage('compliance.evaluated') async compliance(e: CloudEvent<'compliance.evaluated'>, ctx: MessageContext) { this.project(ctx, { name: 'compliance.evaluated', data: e.data }); }
  @OnMessage('review.cancelled') async cancelled(e: CloudEvent<'review.cancelled'>, ctx: MessageContext) { this.project(ctx, { name: 'review.cancelled', data: e.data }); }
  @OnMessage('decision.escalated') async escalated(e: CloudEvent<'decision.escalated'>, ctx: MessageContext) { this.project(ctx, { name: 'decision.escalated', data: e.data }); }
  @OnMessage('deployment.break_glass') async breakGlass(e: CloudEvent<'deployment.break_glass'>, ctx: MessageContext) { this.project(ctx, { name: 'deployment.break_glass', data: e.data }); }

  @OnMessage('decision.made')
  async decision(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    // A request decided in one step: its classification and validators' reviews come with the decision, and
    // the story tells them before it, as it would from events of their own.
    const { classification, validatorReviews } = event.data;
    const decision = decisionAlone(event.data);
    if (classification) this.project(ctx, { name: 'review.classified', data: classification });
    for (const review of validatorReviews ?? []) this.projectReview(ctx, review);
    this.project(ctx, { name: 'decision.made', data: decision, ...(classification ? { decidedInOneStep: true } : {}) });
    // Waiting clients get the decision from the event itself; the read model shows it once this commits.
    this.waiters.resolve(decision);
  }

  /** An answer given as it was assigned carries its assignment: the story tells both, as for any review. */
  private projectReview(ctx: MessageContext, completed: ReviewCompleted): void {
    const { assignment, ...review } = completed;
    if (assignment) this.project(ctx, { name: 'review.assigned', data: assignment });
    this.project(ctx, { name: 'review.completed', data: review });
  }

  private project(ctx: MessageContext, event: ReadModelEvent): void {
    ctx.writeLater('read-model', event, this.projectAndAttest);
    ctx.onCommitted(() => requestEventsCommitted.emit('committed', event.data.requestId));
  }

  /** The batch's events, then its decisions' attestations: the answers of this same batch are in the story by then. */
  private readonly projectAndAttest = async (manager: EntityManager, events: ReadModelEvent[]): Promise<void> => {
    const decidedInOneStep = await projectReadModelEvents(manager, events);
    const decisions: DecisionMade[] = [];
    for (const e of events) if (e.name === 'decision.made') decisions.push(e.data);
    await this.attestations.record(manager, decisions, decidedInOneStep);
  };
}
