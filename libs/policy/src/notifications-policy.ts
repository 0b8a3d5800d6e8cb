import { z } from 'zod';

/**
 * What a route can listen to. `cancelled` tells a reviewer their assignment no longer needs an answer;
 * `rollback`: the rollout guard's rollback requested (critical), its SLA warning and breach (critical), its confirmation (info).
 */
export const NOTIFICATION_EVENTS = ['assignment', 'sla.warning', 'sla.breached', 'escalation', 'decision', 'break-glass', 'cancelled', 'rollback'] as const;
export const NotificationEvent = z.enum(NOTIFICATION_EVENTS);
export type NotificationEvent = z.infer<typeof NotificationEvent>;

/** The PRD's alert levels, least urgent first. */
export const NotificationSeverity = z.enum(['info', 'warning', 'critical']);
export type NotificationSeverity = z.infer<typeof NotificationSeverity>;

const ChannelName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must match [A-Za-z0-9_-]{1,64}');

/** `${VAR}` anywhere in a value is replaced from the environment by the notify service at start. */
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const hasVariable = (value: string): boolean => new RegExp(VARIABLE.source).test(value);

/** A URL, or a value with `${VAR}` whose URL is checked once substituted. */
const UrlOrVariable = (protocols: string[]) =>
  z
    .string()
    .min(1)
    .refine((value) => hasVariable(value) || protocols.includes(safeProtocol(value)), { message: `expected a ${protocols.join(' or ')} URL (or \${VAR})` });

function safeProtocol(value: string): string {
  try {
    return new URL(value).protocol.replace(/:$/, '');
  } catch {
    return '';
  }
}

const HTTP = ['http', 'https'];

export const WebhookChannel = z.strictObject({
  name: ChannelName,
  kind: z.literal('webhook'),
  url: UrlOrVariable(HTTP),
  /** HMAC-SHA256 key of `X-AGF-Signature-256`; write it as `${VAR}`. */
  secret: z.string().min(1),
});
export const SlackChannel = z.strictObject({
  name: ChannelName,
  kind: z.literal('slack'),
  /** Slack's incoming-webhook URL (itself a secret: write it as `${VAR}`). */
  webhook_url: UrlOrVariable(HTTP),
});
export const EmailChannel = z.strictObject({
  name: ChannelName,
  kind: z.literal('email'),
  /** `smtp://user:pass@host:587` or `smtps://…`; credentials as `${VAR}`. */
  smtp_url: UrlOrVariable(['smtp', 'smtps']),
  from: z.string().min(3),
  subject_prefix: z.string().default('[AGF]'),
});
export const PagerDutyChannel = z.strictObject({
  name: ChannelName,
  kind: z.literal('pagerduty'),
  /** The integration's routing key (a secret: write it as `${VAR}`). */
  routing_key: z.string().min(1),
  url: UrlOrVariable(HTTP).default('https://events.pagerduty.com/v2/enqueue'),
});
export const SmsChannel = z.strictObject({
  name: ChannelName,
  kind: z.literal('sms'),
  /** The gateway gets `POST {to, text}` as JSON. */
  url: UrlOrVariable(HTTP),
  /** Sent as `Authorization: Bearer <token>` when set. */
  token: z.string().min(1).optional(),
  /** `{{severity}}`, `{{title}}`, `{{requestId}}`, `{{projectId}}`, `{{link}}` are filled in. */
  template: z.string().min(1).max(1000).default('AGF {{severity}}: {{title}} {{link}}'),
});

export const NotificationChannel = z.discriminatedUnion('kind', [WebhookChannel, SlackChannel, EmailChannel, PagerDutyChannel, SmsChannel]);
export type NotificationChannel = z.infer<typeof NotificationChannel>;
export type NotificationChannelKind = NotificationChannel['kind'];

/** Channels that reach one person (a route to them names who: `to`). */
export const PERSONAL_CHANNEL_KINDS: ReadonlySet<NotificationChannelKind> = new Set(['email', 'sms']);

export const NotificationRoute = z.strictObject({
  events: z.array(NotificationEvent).min(1),
  channels: z.array(ChannelName).min(1),
  /** `assignee` (the expert(s) the event is about), `oversight` (every human_oversight expert), or one expert id. */
  to: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected assignee, oversight or an expert id')
    .optional(),
  min_severity: NotificationSeverity.optional(),
});
export type NotificationRoute = z.infer<typeof NotificationRoute>;

export const NotificationsPolicy = z
  .strictObject({
    channels: z.array(NotificationChannel).default([]),
    routes: z.array(NotificationRoute).default([]),
    /** Where a notification's link points: `<link_base_url>/v1/deployment-requests/<requestId>`. */
    link_base_url: z.url().default('http://localhost:3000'),
  })
  .superRefine((section, ctx) => {
    const kinds = new Map<string, NotificationChannelKind>();
    section.channels.forEach((channel, index) => {
      if (kinds.has(channel.name)) ctx.addIssue({ code: 'custom', path: ['channels', index, 'name'], message: `duplicate channel name ${channel.name}` });
      kinds.set(channel.name, channel.kind);
    });
    section.routes.forEach((route, index) => {
      route.channels.forEach((name, at) => {
        const kind = kinds.get(name);
        if (!kind) ctx.addIssue({ code: 'custom', path: ['routes', index, 'channels', at], message: `no channel named ${name}` });
        else if (PERSONAL_CHANNEL_KINDS.has(kind) && !route.to) {
          ctx.addIssue({ code: 'custom', path: ['routes', index, 'to'], message: `channel ${name} (${kind}) reaches a person: say who (assignee, oversight or an expert id)` });
        }
      });
    });
  });
export type NotificationsPolicy = z.infer<typeof NotificationsPolicy>;

export class MissingVariableError extends Error {
  override name = 'MissingVariableError';
}

/**
 * The section with every `${VAR}` replaced from `env`; a variable that is not set fails, naming the key that
 * refers to it (never its value). Substituted URLs are checked again.
 */
export function resolveNotificationVariables(section: NotificationsPolicy, env: NodeJS.ProcessEnv): NotificationsPolicy {
  const problems: string[] = [];
  const substitute = (value: string, path: string): string =>
    value.replace(VARIABLE, (_match, name: string) => {
      const replacement = env[name];
      if (replacement === undefined || replacement === '') {
        problems.push(`notifications.${path}: environment variable ${name} is not set`);
        return '';
      }
      return replacement;
    });
  const channels = section.channels.map((channel, index) => {
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(channel)) resolved[key] = typeof value === 'string' ? substitute(value, `channels[${index}].${key}`) : value;
    return resolved;
  });
  if (problems.length) throw new MissingVariableError(problems.join('\n'));
  const reparsed = z.array(NotificationChannel).safeParse(channels);
  if (!reparsed.success) {
    // The values may be secrets: name the keys only.
    throw new MissingVariableError(reparsed.error.issues.map((issue) => `notifications.channels[${String(issue.path[0])}].${issue.path.slice(1).join('.')}: ${issue.message} once substituted`).join('\n'));
  }
  return { ...section, channels: reparsed.data };
}
