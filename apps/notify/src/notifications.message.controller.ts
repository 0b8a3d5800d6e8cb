import { Controller, Inject, Logger } from '@nestjs/common';
import { type CloudEvent, newId } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { CHANNEL_RECIPIENT, type Notice, noticeOf, pageResolutions, planDeliveries, type RecipientDirectory, type RoutingPlan, type SourceEvent } from '@agf/notify-domain';
import type { EntityManager } from 'typeorm';
import { SUBSCRIPTION_CHANNEL_PREFIX } from './channel-senders';
import { type NewDelivery, deliveriesRepository as repo } from './deliveries.repository';
import { Dispatcher } from './dispatcher';
import { NOTIFY_CONFIG, type NotifyConfig, RECIPIENT_DIRECTORY } from './notify-config';
import { NotifyMetrics } from './notify-metrics';
import { SubscribedProjects } from './subscribed-projects';

/**
 * Turns each source event into its deliveries, queued in the same transaction as the inbox record: a
 * redelivered event finds its inbox entry (and the unique (event, channel, recipient)) and queues nothing
 * twice. Sending is the dispatcher's, after the commit: no handler here waits on a receiver.
 */
@Controller()
export class NotificationsMessageController {
  private readonly logger = new Logger('notify');

  constructor(
    @Inject(NOTIFY_CONFIG) private readonly config: NotifyConfig,
    @Inject(RECIPIENT_DIRECTORY) private readonly directory: RecipientDirectory,
    private readonly dispatcher: Dispatcher,
    private readonly metrics: NotifyMetrics,
    private readonly subscribed: SubscribedProjects,
  ) {}

  @OnMessage('review.assigned')
  reviewAssigned(event: CloudEvent<'review.assigned'>, ctx: MessageContext): Promise<void> {
    return this.queue('review.assigned', event, ctx);
  }

  @OnMessage('review.cancelled')
  reviewCancelled(event: CloudEvent<'review.cancelled'>, ctx: MessageContext): Promise<void> {
    return this.queue('review.cancelled', event, ctx);
  }

  @OnMessage('sla.warning')
  slaWarning(event: CloudEvent<'sla.warning'>, ctx: MessageContext): Promise<void> {
    return this.queue('sla.warning', event, ctx);
  }

  @OnMessage('sla.breached')
  slaBreached(event: CloudEvent<'sla.breached'>, ctx: MessageContext): Promise<void> {
    return this.queue('sla.breached', event, ctx);
  }

  @OnMessage('decision.escalated')
  decisionEscalated(event: CloudEvent<'decision.escalated'>, ctx: MessageContext): Promise<void> {
    return this.queue('decision.escalated', event, ctx);
  }

  @OnMessage('decision.made')
  decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    return this.queue('decision.made', event, ctx);
  }

  @OnMessage('deployment.break_glass')
  breakGlass(event: CloudEvent<'deployment.break_glass'>, ctx: MessageContext): Promise<void> {
    return this.queue('deployment.break_glass', event, ctx);
  }

  @OnMessage('rollback.requested')
  rollbackRequested(event: CloudEvent<'rollback.requested'>, ctx: MessageContext): Promise<void> {
    return this.queue('rollback.requested', event, ctx);
  }

  @OnMessage('rollback.escalated')
  rollbackEscalated(event: CloudEvent<'rollback.escalated'>, ctx: MessageContext): Promise<void> {
    return this.queue('rollback.escalated', event, ctx);
  }

  @OnMessage('rollback.completed')
  rollbackCompleted(event: CloudEvent<'rollback.completed'>, ctx: MessageContext): Promise<void> {
    return this.queue('rollback.completed', event, ctx);
  }

  private async queue<N extends SourceEvent>(name: N, event: CloudEvent<N>, ctx: MessageContext): Promise<void> {
    const notice = noticeOf(name, event);
    const ageMs = Date.now() - Date.parse(notice.occurredAt);
    if (ageMs > this.config.maxEventAgeMs) {
      this.metrics.tooOld.inc();
      this.logger.warn(`${notice.event} ${notice.eventId} of request ${notice.requestId} is ${Math.round(ageMs / 60_000)} min old: not notified (AGF_NOTIFY_MAX_EVENT_AGE_MS)`);
      return;
    }
    const { notifications } = this.config;
    const plan = planDeliveries(notice, notifications.routes, notifications.channels, this.directory);
    if (this.routesNowhere(notice, plan)) return;
    ctx.writeLater('deliveries', { notice, plan, ctx }, (manager, items: QueuedNotice[]) => this.queueAll(manager, items));
  }

  /**
   * Nothing to send, to log or to resolve, and no webhook subscription in the project: the event is passed over
   * without a transaction (most tier-0 decisions). A decision may resolve a page an earlier event triggered.
   */
  private routesNowhere(notice: Notice, plan: RoutingPlan): boolean {
    if (plan.deliveries.length || plan.skipped.length) return false;
    if (notice.event === 'decision' && this.config.notifications.channels.some((channel) => channel.kind === 'pagerduty')) return false;
    return !this.subscribed.mayHaveSubscriptions(notice.projectId);
  }

  /**
   * The deliveries of a transaction's notices, set-based: one read of the pagers and of the webhook
   * subscriptions, one insert, for the whole batch rather than each of its messages.
   */
  private async queueAll(manager: EntityManager, items: QueuedNotice[]): Promise<void> {
    const { channels } = this.config.notifications;
    const decisions = items.filter((item) => item.notice.event === 'decision');
    const hasPagers = channels.some((channel) => channel.kind === 'pagerduty');
    const triggered = decisions.length && hasPagers ? await repo.triggeredPagersOf(manager, decisions.map((item) => item.notice.requestId)) : new Map<string, string[]>();
    const subscriptions = await repo.subscriptionsListeningTo(manager, [...new Set(items.map((item) => item.notice.projectId))]);
    const rows: NewDelivery[] = [];
    for (const { notice, plan } of items) {
      if (notice.event === 'decision') {
        // A page triggered earlier in this same batch is resolved too.
        const triggeredHere = rows.filter((row) => row.requestId === notice.requestId && row.channelKind === 'pagerduty' && row.action === 'trigger').map((row) => row.channel);
        plan.deliveries.push(...pageResolutions(notice, plan.deliveries, [...(triggered.get(notice.requestId) ?? []), ...triggeredHere], channels));
      }
      const listening = subscriptions.filter((s) => s.projectId === notice.projectId && s.events.includes(notice.event));
      rows.push(
        ...[
          ...plan.deliveries.map((d) => ({ channel: d.channel, channelKind: d.channelKind, recipient: d.recipient, address: d.address ?? null, action: d.action ?? null })),
          ...listening.map((s) => ({ channel: `${SUBSCRIPTION_CHANNEL_PREFIX}${s.id}`, channelKind: 'webhook', recipient: CHANNEL_RECIPIENT, address: null, action: null })),
        ].map((d) => ({ ...d, id: newId(), eventId: notice.eventId, event: notice.event, requestId: notice.requestId, projectId: notice.projectId, severity: notice.severity, notice })),
      );
    }
    const queued = await repo.insert(manager, rows);
    for (const { notice, plan, ctx } of items) {
      ctx.onCommitted(() => {
        for (const row of rows) if (queued && row.eventId === notice.eventId) this.metrics.planned.inc({ kind: row.channelKind });
        for (const skip of plan.skipped) {
          this.metrics.skipped.inc({ channel: skip.channel });
          this.logger.warn(`${notice.event} of request ${notice.requestId}: nothing sent via ${skip.channel} to ${skip.recipient}: ${skip.reason}`);
        }
      });
    }
    if (queued) items[0]!.ctx.onCommitted(() => this.dispatcher.wake());
  }
}

interface QueuedNotice {
  notice: Notice;
  plan: RoutingPlan;
  ctx: MessageContext;
}
