import { linkOf, type Notice } from './notices';

/** The webhook body's `type`: `io.agf.notification.<event>.v1`. */
export function webhookType(notice: Pick<Notice, 'event'>): string {
  return `io.agf.notification.${notice.event}.v1`;
}

/**
 * The webhook body: the event's own fields first, then the fixed ones, so that a detail can never overwrite
 * `id` (the delivery id, the same on every retry: receivers deduplicate on it).
 */
export function webhookBody(deliveryId: string, notice: Notice, linkBaseUrl: string): Record<string, unknown> {
  return {
    ...notice.details,
    id: deliveryId,
    type: webhookType(notice),
    event: notice.event,
    eventId: notice.eventId,
    requestId: notice.requestId,
    projectId: notice.projectId,
    severity: notice.severity,
    occurredAt: notice.occurredAt,
    title: notice.title,
    link: linkOf(notice, linkBaseUrl),
  };
}

const SEVERITY_EMOJI = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

/** A Slack incoming-webhook message in Block Kit, with a button to the request (and `text` as the fallback). */
export function slackBody(notice: Notice, linkBaseUrl: string): Record<string, unknown> {
  const link = linkOf(notice, linkBaseUrl);
  return {
    text: `[${notice.severity}] ${notice.title}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`${notice.severity.toUpperCase()}: ${notice.event}`, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`${SEVERITY_EMOJI[notice.severity]} ${escapeSlack(notice.title)}`, 3000) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Project*\n${escapeSlack(notice.projectId)}` },
          { type: 'mrkdwn', text: `*Request*\n<${link}|${notice.requestId}>` },
          { type: 'mrkdwn', text: `*Severity*\n${notice.severity}` },
          { type: 'mrkdwn', text: `*When*\n${notice.occurredAt}` },
        ],
      },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open request' }, url: link }] },
    ],
  };
}

export interface EmailMessage {
  subject: string;
  text: string;
}

/** A plain-text email a person can read, with the link to the request. */
export function emailMessage(notice: Notice, linkBaseUrl: string, subjectPrefix: string): EmailMessage {
  const link = linkOf(notice, linkBaseUrl);
  const details = Object.entries(notice.details)
    .map(([key, value]) => `  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('\n');
  return {
    subject: oneLine(`${subjectPrefix ? `${subjectPrefix} ` : ''}[${notice.severity}] ${notice.title}`),
    text: [
      notice.title,
      '',
      `Project:  ${notice.projectId}`,
      `Request:  ${notice.requestId}`,
      `Severity: ${notice.severity}`,
      `When:     ${notice.occurredAt}`,
      '',
      details ? `Details:\n${details}\n` : '',
      `Open the request: ${link}`,
      '',
      '-- AGF (Autonomous Governance Framework). You get this because a notification route names you.',
    ].join('\n'),
  };
}

/** PagerDuty Events API v2: `trigger` with a summary, or `resolve`; `dedup_key` = request id ties them together. */
export function pagerDutyBody(routingKey: string, notice: Notice, linkBaseUrl: string, action: 'trigger' | 'resolve'): Record<string, unknown> {
  const base = { routing_key: routingKey, event_action: action, dedup_key: notice.requestId };
  if (action === 'resolve') return base;
  const link = linkOf(notice, linkBaseUrl);
  return {
    ...base,
    payload: {
      summary: truncate(notice.title, 1024),
      source: `agf/${notice.projectId}`,
      severity: notice.severity,
      timestamp: notice.occurredAt,
      component: typeof notice.details['componentName'] === 'string' ? notice.details['componentName'] : undefined,
      group: notice.projectId,
      class: notice.event,
      custom_details: { ...notice.details, requestId: notice.requestId, eventId: notice.eventId },
    },
    links: [{ href: link, text: 'Deployment request' }],
    client: 'AGF',
    client_url: link,
  };
}

/** The SMS text from the channel's template: `{{severity}}`, `{{title}}`, `{{event}}`, `{{requestId}}`, `{{projectId}}`, `{{link}}`. */
export function smsText(template: string, notice: Notice, linkBaseUrl: string): string {
  const values: Record<string, string> = {
    severity: notice.severity,
    title: notice.title,
    event: notice.event,
    requestId: notice.requestId,
    projectId: notice.projectId,
    link: linkOf(notice, linkBaseUrl),
  };
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (match, key: string) => values[key] ?? match);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
