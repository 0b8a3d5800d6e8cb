import { createHmac } from 'node:crypto';
import { NotificationsPolicy } from '@agf/policy';
import {
  afterFailure,
  backoffDelayMs,
  classifyAddress,
  emailMessage,
  judgeTarget,
  type Notice,
  noticeOf,
  pageResolutions,
  pagerDutyBody,
  parseAllowedHosts,
  planDeliveries,
  severityOf,
  type RecipientDirectory,
  slackBody,
  smsText,
  verifyWebhookSignature,
  webhookBody,
  webhookSignature,
} from './index';

const REQUEST = '2f1d4f6e-3a0c-4d8e-9a51-0c5d2b7e8f10';
const ASSIGNMENT = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

const assigned = noticeOf('review.assigned', {
  id: 'evt-1',
  time: '2026-12-05T10:00:00.000Z',
  data: {
    requestId: REQUEST,
    projectId: 'payments',
    assignmentId: ASSIGNMENT,
    expertId: 'alice',
    expertType: 'security',
    expertKind: 'human',
    role: 'standard',
    scope: ['risk_assessment'],
    tierLevel: 1,
    priority: 'normal',
    slaHours: 4,
    assignedAt: '2026-12-05T10:00:00.000Z',
    slaDueAt: '2026-12-05T14:00:00.000Z',
  },
});

const directory: RecipientDirectory = {
  emailOf: (id) => ({ alice: 'alice@example.com', olga: 'olga@example.com' })[id],
  phoneOf: (id) => ({ olga: '+4915112345678' })[id],
  oversightExperts: () => ['olga'],
};

const section = NotificationsPolicy.parse({
  channels: [
    { name: 'ops', kind: 'webhook', url: 'https://hooks.example.com/agf', secret: 's3cret' },
    { name: 'mail', kind: 'email', smtp_url: 'smtp://mail.example.com:587', from: 'agf@example.com' },
    { name: 'pager', kind: 'pagerduty', routing_key: 'rk' },
    { name: 'phone', kind: 'sms', url: 'https://sms.example.com/send' },
  ],
  routes: [
    { events: ['assignment', 'sla.warning', 'sla.breached', 'escalation', 'decision', 'break-glass'], channels: ['ops'] },
    { events: ['assignment', 'sla.warning', 'escalation'], channels: ['mail'], to: 'assignee' },
    { events: ['assignment'], channels: ['mail', 'ops'], to: 'assignee' },
    { events: ['escalation', 'break-glass'], channels: ['pager'], min_severity: 'critical' },
    { events: ['sla.breached', 'break-glass'], channels: ['phone', 'mail'], to: 'oversight', min_severity: 'critical' },
  ],
});

const plan = (notice: Notice) => planDeliveries(notice, section.routes, section.channels, directory);
const keys = (notice: Notice) => plan(notice).deliveries.map((d) => `${d.channel}/${d.recipient}${d.action ? `/${d.action}` : ''}`);

describe('routing', () => {
  it('an assignment goes to the webhook once and to the assignee by email, however many routes lead there', () => {
    expect(keys(assigned)).toEqual(['ops/channel', 'mail/expert:alice']);
    expect(plan(assigned).deliveries[1]!.address).toBe('alice@example.com');
  });

  it('a breach reaches oversight by SMS and email (critical passes min_severity)', () => {
    const breach = { ...assigned, event: 'sla.breached' as const, severity: 'critical' as const };
    expect(keys(breach)).toEqual(['ops/channel', 'phone/expert:olga', 'mail/expert:olga']);
  });

  it('min_severity keeps a warning off the critical-only routes', () => {
    const warning = { ...assigned, event: 'break-glass' as const, severity: 'warning' as const };
    expect(keys(warning)).toEqual(['ops/channel']);
  });

  it('an expert without an address is skipped with a reason, not queued', () => {
    const toBob = { ...assigned, assignees: ['bob'] };
    expect(plan(toBob).skipped).toEqual([{ channel: 'mail', recipient: 'expert:bob', reason: 'expert bob has no email' }]);
    expect(keys(toBob)).toEqual(['ops/channel']);
  });

  it('an escalation pages, and the decision that resolves it resolves the page even though the route does not list decision', () => {
    const escalated = noticeOf('decision.escalated', {
      id: 'evt-2',
      time: '2026-12-05T11:00:00.000Z',
      data: {
        requestId: REQUEST,
        projectId: 'payments',
        componentName: 'api',
        version: '1.0.0',
        tierLevel: 1,
        riskScore: 0.5,
        reason: 'sla-breached',
        detail: 'no answer',
        level: 1,
        expertType: 'human_oversight',
        assignees: [{ assignmentId: ASSIGNMENT, expertId: 'olga' }],
        dueAt: '2026-12-05T15:00:00.000Z',
        escalatedAt: '2026-12-05T11:00:00.000Z',
      },
    });
    expect(escalated.severity).toBe('critical');
    expect(keys(escalated)).toEqual(['ops/channel', 'mail/expert:olga', 'pager/channel/trigger']);
    const resolved: Notice = { ...escalated, eventId: 'evt-3', event: 'decision', severity: 'info', incident: 'resolve', assignees: ['olga'] };
    expect(keys(resolved)).toEqual(['ops/channel', 'pager/channel/resolve']);
  });
});

describe('page resolutions', () => {
  it('a final decision resolves each page triggered for its request, once, and nothing else does', () => {
    const decision: Notice = { ...assigned, event: 'decision', incident: 'none' };
    expect(pageResolutions(decision, [], ['pager', 'pager', 'ops'], section.channels)).toEqual([{ channel: 'pager', channelKind: 'pagerduty', recipient: 'channel', action: 'resolve' }]);
    expect(pageResolutions(decision, [{ channel: 'pager', channelKind: 'pagerduty', recipient: 'channel', action: 'resolve' }], ['pager'], section.channels)).toEqual([]);
    expect(pageResolutions(assigned, [], ['pager'], section.channels)).toEqual([]);
  });
});

describe('severity (PRD: critical, warning, info)', () => {
  it.each([
    ['sla.warning', 'warning'],
    ['sla.breached', 'critical'],
  ] as const)('%s is %s', (name, severity) => {
    const fired = noticeOf(name, {
      id: 'e',
      time: '2026-12-05T10:00:00.000Z',
      data: { requestId: REQUEST, projectId: 'p', assignmentId: ASSIGNMENT, expertId: 'alice', tierLevel: 1, assignedAt: 'a', slaDueAt: 'b', dueAt: 'c', firedAt: 'd', fraction: 0.75 },
    });
    expect(fired.severity).toBe(severity);
    expect(fired.assignees).toEqual(['alice']);
  });

  it('an ordinary assignment is info, an urgent one a warning', () => {
    expect(assigned.severity).toBe('info');
    expect(severityOf({ event: 'assignment', priority: 'critical' })).toBe('warning');
    expect(severityOf({ event: 'decision', outcome: 'BLOCK_WITH_FEEDBACK' })).toBe('warning');
    expect(severityOf({ event: 'decision', outcome: 'PROCEED_STANDARD' })).toBe('info');
    expect(severityOf({ event: 'break-glass' })).toBe('critical');
  });
});

describe('payloads', () => {
  it('the webhook body has the fixed fields, which details cannot overwrite', () => {
    const body = webhookBody('delivery-1', { ...assigned, details: { ...assigned.details, id: 'evil', severity: 'none' } }, 'http://agf.local:3000/');
    expect(body).toMatchObject({
      id: 'delivery-1',
      type: 'io.agf.notification.assignment.v1',
      requestId: REQUEST,
      projectId: 'payments',
      severity: 'info',
      occurredAt: '2026-12-05T10:00:00.000Z',
      expertId: 'alice',
      link: `http://agf.local:3000/v1/deployment-requests/${REQUEST}`,
    });
  });

  it('slack gets Block Kit with a button to the request', () => {
    const body = slackBody(assigned, 'http://agf') as { text: string; blocks: Array<{ type: string; elements?: Array<{ url: string }> }> };
    expect(body.text).toContain('Review needed');
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(body.blocks[3]!.elements![0]!.url).toBe(`http://agf/v1/deployment-requests/${REQUEST}`);
  });

  it('email has a one-line subject and the link in its text', () => {
    const mail = emailMessage({ ...assigned, title: 'two\nlines' }, 'http://agf', '[AGF]');
    expect(mail.subject).toBe('[AGF] [info] two lines');
    expect(mail.text).toContain(`Open the request: http://agf/v1/deployment-requests/${REQUEST}`);
  });

  it('pagerduty: trigger with a payload, resolve with the same dedup_key and nothing else', () => {
    expect(pagerDutyBody('rk', assigned, 'http://agf', 'trigger')).toMatchObject({ routing_key: 'rk', event_action: 'trigger', dedup_key: REQUEST, payload: { severity: 'info', source: 'agf/payments' } });
    expect(pagerDutyBody('rk', assigned, 'http://agf', 'resolve')).toEqual({ routing_key: 'rk', event_action: 'resolve', dedup_key: REQUEST });
  });

  it('sms fills the template and leaves unknown placeholders', () => {
    expect(smsText('{{severity}} {{projectId}} {{nope}}', assigned, 'http://agf')).toBe('info payments {{nope}}');
  });
});

describe('signature', () => {
  it('is HMAC-SHA256 over timestamp.body, verified in constant time within a tolerance', () => {
    const signature = webhookSignature('key', 1_700_000_000, '{"a":1}');
    expect(signature).toBe('sha256=' + createHmac('sha256', 'key').update('1700000000.{"a":1}').digest('hex'));
    expect(verifyWebhookSignature('key', '1700000000', '{"a":1}', signature, 1_700_000_100)).toBe(true);
    expect(verifyWebhookSignature('key', '1700000000', '{"a":2}', signature, 1_700_000_100)).toBe(false);
    expect(verifyWebhookSignature('other', '1700000000', '{"a":1}', signature, 1_700_000_100)).toBe(false);
    expect(verifyWebhookSignature('key', '1700000000', '{"a":1}', signature, 1_700_001_000)).toBe(false); // a replay, too old
  });
});

describe('backoff', () => {
  const schedule = { baseMs: 1000, maxMs: 60_000, retryWindowMs: 24 * 3_600_000 };

  it('doubles from the base, with jitter between half and all of it, capped', () => {
    expect(backoffDelayMs(1, schedule, () => 0)).toBe(500);
    expect(backoffDelayMs(1, schedule, () => 1)).toBe(1000);
    expect(backoffDelayMs(4, schedule, () => 1)).toBe(8000);
    expect(backoffDelayMs(30, schedule, () => 1)).toBe(60_000);
  });

  it('retries for the whole window, then dead-letters', () => {
    const created = new Date('2026-12-05T00:00:00Z');
    expect(afterFailure(created, 50, new Date('2026-12-05T23:59:59Z'), schedule, () => 1)).toEqual({ status: 'pending', nextAttemptAt: new Date('2026-12-06T00:00:59Z') });
    expect(afterFailure(created, 51, new Date('2026-12-06T00:01:00Z'), schedule)).toEqual({ status: 'dead' });
  });
});

describe('webhook targets (SSRF)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12::1', 'private'],
    ['169.254.10.10', 'link-local'],
    ['fe80::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'reserved'],
    ['93.184.216.34', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('refuses a host with any non-public address unless allow-listed', () => {
    const allowed = parseAllowedHosts(' receiver.internal ,127.0.0.1');
    expect(judgeTarget('hooks.example.com', ['93.184.216.34', '10.0.0.1'], new Set())).toEqual({ ok: false, reason: 'hooks.example.com resolves to a private address (10.0.0.1)' });
    expect(judgeTarget('Receiver.Internal.', ['10.0.0.1'], allowed)).toEqual({ ok: true });
    expect(judgeTarget('127.0.0.1', ['127.0.0.1'], allowed)).toEqual({ ok: true });
    expect(judgeTarget('metadata.google.internal', ['93.184.216.34'], new Set()).ok).toBe(false);
    expect(judgeTarget('hooks.example.com', ['93.184.216.34'], new Set())).toEqual({ ok: true });
  });
});
