import type { NotificationChannel, NotificationChannelKind, NotificationEvent, NotificationRoute } from '@agf/policy';
import { PERSONAL_CHANNEL_KINDS } from '@agf/policy';
import { atLeast, type Notice } from './notices';

/**
 * Where people's addresses come from. Narrow on purpose: the policy implements it today; the expert registry's
 * replica can replace it without touching routing.
 */
export interface RecipientDirectory {
  emailOf(expertId: string): string | undefined;
  phoneOf(expertId: string): string | undefined;
  /** The experts `to: oversight` reaches. */
  oversightExperts(): string[];
}

/** The recipient of a channel that reaches a place (a webhook, a Slack channel, a PagerDuty service), not a person. */
export const CHANNEL_RECIPIENT = 'channel';

/** One row of the delivery queue, before it is stored; (eventId, channel, recipient) is its identity. */
export interface PlannedDelivery {
  channel: string;
  channelKind: NotificationChannelKind;
  /** `channel`, or `expert:<id>` for a personal channel. */
  recipient: string;
  /** The email address or phone number, resolved when planned (so the queue holds what will be sent). */
  address?: string;
  /** PagerDuty only: trigger or resolve. */
  action?: 'trigger' | 'resolve';
}

/** A delivery that could not be planned (an expert without an email address, say): counted and logged, never queued. */
export interface SkippedDelivery {
  channel: string;
  recipient: string;
  reason: string;
}

export interface RoutingPlan {
  deliveries: PlannedDelivery[];
  skipped: SkippedDelivery[];
}

/**
 * The deliveries one notice needs under the configured routes: each (channel, recipient) once, however many
 * routes lead to it. PagerDuty also hears of a decision that resolves an escalation it was paged about (a
 * `resolve` for the request's `dedup_key`), whether or not its route lists `decision`.
 */
export function planDeliveries(notice: Notice, routes: readonly NotificationRoute[], channels: readonly NotificationChannel[], directory: RecipientDirectory): RoutingPlan {
  const byName = new Map(channels.map((channel) => [channel.name, channel]));
  const planned = new Map<string, PlannedDelivery>();
  const skipped: SkippedDelivery[] = [];
  for (const route of routes) {
    const listens = route.events.includes(notice.event);
    const resolvesPage = notice.incident === 'resolve' && route.events.includes('escalation' satisfies NotificationEvent);
    if (!listens && !resolvesPage) continue;
    for (const name of route.channels) {
      const channel = byName.get(name);
      if (!channel) continue;
      if (channel.kind === 'pagerduty') {
        // A page is opened for what needs someone now, and closed when the escalation is decided.
        const action = resolvesPage ? 'resolve' : notice.incident === 'resolve' ? 'resolve' : 'trigger';
        if (action === 'trigger' && !(listens && atLeast(notice.severity, route.min_severity))) continue;
        add(planned, { channel: name, channelKind: channel.kind, recipient: CHANNEL_RECIPIENT, action });
        continue;
      }
      if (!listens || !atLeast(notice.severity, route.min_severity)) continue;
      if (!PERSONAL_CHANNEL_KINDS.has(channel.kind)) {
        add(planned, { channel: name, channelKind: channel.kind, recipient: CHANNEL_RECIPIENT });
        continue;
      }
      for (const expertId of recipientsOf(route.to, notice, directory)) {
        const address = channel.kind === 'email' ? directory.emailOf(expertId) : directory.phoneOf(expertId);
        const recipient = `expert:${expertId}`;
        if (!address) {
          if (!skipped.some((s) => s.channel === name && s.recipient === recipient)) skipped.push({ channel: name, recipient, reason: `expert ${expertId} has no ${channel.kind === 'email' ? 'email' : 'phone'}` });
        }
        else add(planned, { channel: name, channelKind: channel.kind, recipient, address });
      }
    }
  }
  return { deliveries: [...planned.values()], skipped };
}

function add(planned: Map<string, PlannedDelivery>, delivery: PlannedDelivery): void {
  const key = `${delivery.channel}\u0000${delivery.recipient}`;
  if (!planned.has(key)) planned.set(key, delivery);
}

/** Who `to` names for this notice. */
export function recipientsOf(to: string | undefined, notice: Pick<Notice, 'assignees'>, directory: RecipientDirectory): string[] {
  if (to === undefined) return [];
  if (to === 'assignee') return [...new Set(notice.assignees)];
  if (to === 'oversight') return [...new Set(directory.oversightExperts())];
  return [to];
}

/** Experts named by `to:` in the routes that the registry does not know (a configuration error). */
export function unknownRouteRecipients(routes: readonly NotificationRoute[], knownExpertIds: ReadonlySet<string>): string[] {
  return [...new Set(routes.map((route) => route.to).filter((to): to is string => !!to && to !== 'assignee' && to !== 'oversight' && !knownExpertIds.has(to)))];
}

/** Whether a project-level subscription listens to this notice. */
export function subscriptionListens(events: readonly string[], notice: Pick<Notice, 'event'>): boolean {
  return events.includes(notice.event);
}

/**
 * A final decision closes every page opened for its request (an SLA breach, a break-glass, an escalation): one
 * `resolve` per PagerDuty channel that was triggered for it and that the plan does not resolve already.
 */
export function pageResolutions(notice: Pick<Notice, 'event'>, planned: readonly PlannedDelivery[], triggeredChannels: readonly string[], channels: readonly NotificationChannel[]): PlannedDelivery[] {
  if (notice.event !== 'decision') return [];
  const pagers = new Set(channels.filter((channel) => channel.kind === 'pagerduty').map((channel) => channel.name));
  const resolving = new Set(planned.filter((d) => d.action === 'resolve').map((d) => d.channel));
  return [...new Set(triggeredChannels)]
    .filter((name) => pagers.has(name) && !resolving.has(name))
    .map((name) => ({ channel: name, channelKind: 'pagerduty' as const, recipient: CHANNEL_RECIPIENT, action: 'resolve' as const }));
}
