import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { timersFor } from '@agf/sla-domain';
import type { EntityManager } from 'typeorm';
import { SlaMetrics } from './sla-metrics';
import { type NewTimers, timersRepository as repo } from './timers.repository';

interface Cancellation {
  assignmentId: string;
  requestId: string;
  reason: string;
  ctx: MessageContext;
}

/** Metric label of each cancel reason stored. */
const CANCEL_LABELS: Record<string, string> = {
  superseded: 'superseded',
  'review completed': 'review_completed',
  'review cancelled: decided': 'decided',
  'review cancelled: expert-unavailable': 'expert_unavailable',
  'review cancelled: removed-from-registry': 'removed_from_registry',
};

/**
 * Keeps the timer table in step with the review workflow. Each handler first takes its request's lock (held to
 * the commit), so a timer stored here and a cancellation of it in another transaction cannot interleave, in
 * whatever order the events arrive. The writes are left to the end of the transaction, one statement per kind
 * for the whole batch, and either order gives the same timers: a cancellation written first is remembered, so
 * the timers stored after it are stored cancelled; one written after cancels the open timers stored before it.
 *
 * A decision needs no handler here: the CoE cancels every assignment still open in the decision's transaction
 * (`review.cancelled`, reason `decided`), and the review after the fact of a break-glass approval is assigned
 * after it. Consuming `decision.made` as well would only cost a delivery per decision.
 */
@Controller()
export class TimersMessageController {
  constructor(private readonly metrics: SlaMetrics) {}

  @OnMessage('review.assigned')
  async reviewAssigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    const a = event.data;
    await ctx.lockRequest(a.requestId);
    const timers: NewTimers = {
      assignmentId: a.assignmentId,
      requestId: a.requestId,
      projectId: a.projectId,
      expertId: a.expertId,
      tierLevel: a.tierLevel,
      assignedAt: a.assignedAt,
      slaDueAt: a.slaDueAt,
      causeEventId: event.id,
      timers: timersFor(a),
    };
    ctx.writeLater('timers', { timers, ctx }, (manager, items) => this.storeTimers(manager, items));
    // The replaced assignment is no longer anyone's work: nothing of it may fire any more.
    if (a.supersedesAssignmentId) this.cancelLater(ctx, { assignmentId: a.supersedesAssignmentId, requestId: a.requestId, reason: 'superseded', ctx });
  }

  @OnMessage('review.completed')
  async reviewCompleted(event: CloudEvent<'review.completed'>, ctx: MessageContext): Promise<void> {
    // Answered as it was assigned: it was never open, so nothing was timed, and no review.assigned will come.
    if (event.data.assignment) return;
    await ctx.lockRequest(event.data.requestId);
    this.cancelLater(ctx, { assignmentId: event.data.assignmentId, requestId: event.data.requestId, reason: 'review completed', ctx });
  }

  /** The CoE closed an assignment (the request was decided, or its expert left): nothing of it fires any more. */
  @OnMessage('review.cancelled')
  async reviewCancelled(event: CloudEvent<'review.cancelled'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    this.cancelLater(ctx, { assignmentId: event.data.assignmentId, requestId: event.data.requestId, reason: `review cancelled: ${event.data.reason}`, ctx });
  }

  private cancelLater(ctx: MessageContext, cancellation: Cancellation): void {
    ctx.writeLater('cancellations', cancellation, (manager, items: Cancellation[]) => this.cancelAssignments(manager, items));
  }

  private async storeTimers(manager: EntityManager, items: Array<{ timers: NewTimers; ctx: MessageContext }>): Promise<void> {
    const reasons = await repo.insertTimers(manager, items.map((item) => item.timers));
    const live = reasons.filter((reason) => reason === null).length;
    items[0]!.ctx.onCommitted(() => {
      if (live) this.metrics.scheduled.inc({ outcome: 'live' }, live);
      if (reasons.length > live) this.metrics.scheduled.inc({ outcome: 'cancelled' }, reasons.length - live);
    });
  }

  private async cancelAssignments(manager: EntityManager, items: Cancellation[]): Promise<void> {
    this.countCancelled(items[0]!.ctx, await repo.cancelAssignments(manager, items));
  }

  private countCancelled(ctx: MessageContext, reasons: string[]): void {
    if (!reasons.length) return;
    ctx.onCommitted(() => {
      for (const reason of reasons) this.metrics.cancelled.inc({ reason: CANCEL_LABELS[reason] ?? reason });
    });
  }
}
