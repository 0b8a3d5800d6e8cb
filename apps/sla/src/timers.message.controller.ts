import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { timersFor } from '@agf/sla-domain';
import { SlaMetrics } from './sla-metrics';
import { timersRepository as repo } from './timers.repository';

/**
 * Keeps the timer table in step with the review workflow. Each handler runs in its message's transaction
 * and first takes the request's lock, so the order in which the three kinds of events arrive does not matter.
 */
@Controller()
export class TimersMessageController {
  constructor(private readonly metrics: SlaMetrics) {}

  @OnMessage('review.assigned')
  async reviewAssigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    const a = event.data;
    // Held to the commit: "is it cancelled?" and "store the timers" cannot interleave with a cancellation.
    await ctx.lockRequest(a.requestId);
    // A review or decision that overtook this event leaves its timers stored but cancelled: visible, never fired.
    const { stored, cancelReason } = await repo.insertTimers(
      ctx.manager,
      {
        assignmentId: a.assignmentId,
        requestId: a.requestId,
        projectId: a.projectId,
        expertId: a.expertId,
        tierLevel: a.tierLevel,
        assignedAt: a.assignedAt,
        slaDueAt: a.slaDueAt,
        causeEventId: event.id,
        timers: timersFor(a),
      },
    );
    if (stored) ctx.onCommitted(() => this.metrics.scheduled.inc({ outcome: cancelReason ? 'cancelled' : 'live' }, stored));
    if (a.supersedesAssignmentId) {
      // The replaced assignment is no longer anyone's work: nothing of it may fire any more.
      const cancelled = await repo.cancelAssignment(ctx.manager, a.supersedesAssignmentId, a.requestId, 'superseded');
      if (cancelled) ctx.onCommitted(() => this.metrics.cancelled.inc({ reason: 'superseded' }, cancelled));
    }
  }

  @OnMessage('review.completed')
  async reviewCompleted(event: CloudEvent<'review.completed'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    const cancelled = await repo.cancelAssignment(ctx.manager, event.data.assignmentId, event.data.requestId, 'review completed');
    if (cancelled) ctx.onCommitted(() => this.metrics.cancelled.inc({ reason: 'review_completed' }, cancelled));
  }

  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    const cancelled = await repo.closeRequest(ctx.manager, event.data.requestId, 'decided');
    if (cancelled) ctx.onCommitted(() => this.metrics.cancelled.inc({ reason: 'decided' }, cancelled));
  }
}
