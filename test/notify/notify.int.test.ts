import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type EventName, type PayloadOf, subjectFor } from '@agf/contracts';
import { aDecision } from '@agf/contracts/testing';
import { verifyWebhookSignature } from '@agf/notify-domain';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, TestNats, testIdentity } from '@agf/testing';
import { parse, stringify } from 'yaml';
import { HttpReceivers, SmtpReceiver } from './receivers';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOT = join(__dirname, '..', '..');
const WEBHOOK_SECRET = `whsec-${randomUUID()}`;
const PD_KEY = `pd-${randomUUID()}`;
const ALICE = 'alice@example.com';
const OLIVIA = 'olivia@example.com';
const OLIVIA_PHONE = '+4915112345678';

/** The repository's configuration, with experts' addresses and a notifications section pointing at the test's receivers. */
function writeConfig(dir: string, http: HttpReceivers, smtp: SmtpReceiver): string {
  type Expert = { id: string; email?: string; phone?: string };
  const config = parse(readFileSync(join(ROOT, 'agf-config.yaml'), 'utf8')) as { experts: Record<string, Expert[]>; notifications?: unknown };
  config.experts['security']!.find((e) => e.id === 'security_expert_human')!.email = ALICE;
  Object.assign(config.experts['human_oversight']!.find((e) => e.id === 'oversight_board_1')!, { email: OLIVIA, phone: OLIVIA_PHONE });
  config.notifications = {
    link_base_url: 'http://agf.test:3000',
    channels: [
      { name: 'ops', kind: 'webhook', url: http.url('/webhook'), secret: '${NOTIFY_TEST_WEBHOOK_SECRET}' },
      { name: 'chat', kind: 'slack', webhook_url: http.url('/slack') },
      { name: 'mail', kind: 'email', smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'agf@example.com' },
      { name: 'pager', kind: 'pagerduty', routing_key: '${NOTIFY_TEST_PD_KEY}', url: http.url('/pagerduty') },
      { name: 'phone', kind: 'sms', url: http.url('/sms'), template: 'AGF {{severity}} {{projectId}} {{link}}' },
      { name: 'flaky', kind: 'webhook', url: http.url('/flaky'), secret: '${NOTIFY_TEST_WEBHOOK_SECRET}' },
      { name: 'broken', kind: 'webhook', url: http.url('/always-500'), secret: 'not-a-secret-worth-hiding' },
    ],
    routes: [
      { events: ['assignment', 'sla.warning', 'sla.breached', 'escalation', 'decision', 'break-glass', 'cancelled'], channels: ['ops', 'chat'] },
      { events: ['assignment', 'sla.warning', 'escalation', 'cancelled'], channels: ['mail'], to: 'assignee' },
      { events: ['escalation', 'break-glass'], channels: ['pager'], min_severity: 'critical' },
      { events: ['break-glass', 'sla.breached'], channels: ['phone', 'mail'], to: 'oversight' },
      { events: ['sla.warning'], channels: ['flaky'] },
      { events: ['break-glass'], channels: ['broken'] },
    ],
  };
  const path = join(dir, 'agf-config.notify.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

interface DeliveryView {
  id: string;
  event: string;
  channel: string;
  recipient: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

describe('notify service (real NATS, Postgres, HTTP receivers and an SMTP server)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let notify: ServiceProcess;
  let http: HttpReceivers;
  let smtp: SmtpReceiver;
  let dir: string;
  let configPath: string;
  const env = () => ({ AGF_CONFIG: configPath, NOTIFY_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET, NOTIFY_TEST_PD_KEY: PD_KEY });

  const admin = async () => (await testIdentity()).headers({ sub: 'ops-admin', roles: ['admin'] });

  async function deliveries(query: string): Promise<DeliveryView[]> {
    const response = await fetch(`${notify.url}/v1/notifications/deliveries?${query}`, { headers: await admin() });
    expect(response.status).toBe(200);
    return ((await response.json()) as { deliveries: DeliveryView[] }).deliveries;
  }

  function publish<N extends EventName>(name: N, data: PayloadOf<N>) {
    return nats.publishEvent(name, data, { correlationId: (data as { requestId: string }).requestId, source: 'coe' });
  }

  function assignment(requestId: string, projectId = 'payments', expertId = 'security_expert_human'): PayloadOf<'review.assigned'> {
    const now = Date.now();
    return {
      requestId,
      projectId,
      assignmentId: randomUUID(),
      expertId,
      expertType: 'security',
      expertKind: 'human',
      role: 'standard',
      scope: ['risk_assessment'],
      tierLevel: 1,
      priority: 'normal',
      slaHours: 4,
      assignedAt: new Date(now).toISOString(),
      slaDueAt: new Date(now + 4 * 3_600_000).toISOString(),
    };
  }

  function timer(requestId: string, fraction: number): PayloadOf<'sla.warning'> {
    const now = new Date().toISOString();
    return { requestId, projectId: 'payments', assignmentId: randomUUID(), expertId: 'security_expert_human', tierLevel: 1, assignedAt: now, slaDueAt: now, dueAt: now, firedAt: now, fraction };
  }

  beforeAll(async () => {
    [db, nats, http, smtp] = await Promise.all([createTestDatabase(), TestNats.connect(), HttpReceivers.start(), SmtpReceiver.start()]);
    dir = mkdtempSync(join(tmpdir(), 'agf-notify-'));
    configPath = writeConfig(dir, http, smtp);
    notify = await ServiceProcess.start('notify', {
      databaseUrl: db.url,
      namespace: nats.namespace.prefix,
      env: { ...env(), AGF_NOTIFY_BACKOFF_MS: '50', AGF_NOTIFY_BACKOFF_MAX_MS: '200', AGF_NOTIFY_RETRY_WINDOW_MS: '1500', AGF_NOTIFY_POLL_MS: '100', AGF_NOTIFY_ALLOWED_HOSTS: 'localhost' },
    });
  });

  afterAll(async () => {
    if (process.env['NOTIFY_DEBUG']) console.log(notify?.output.join(''));
    await notify?.stop();
    await Promise.all([nats?.cleanup(), http?.stop(), smtp?.stop()]);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an assignment goes out as a signed webhook, a Block Kit Slack message and an email to the assignee', async () => {
    const requestId = randomUUID();
    const event = await publish('review.assigned', assignment(requestId));

    const [hook] = await eventually(() => {
      const found = http.at('/webhook', requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    const timestamp = String(hook!.headers['x-agf-timestamp']);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, timestamp, hook!.rawBody, String(hook!.headers['x-agf-signature-256']), Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifyWebhookSignature('another-secret', timestamp, hook!.rawBody, String(hook!.headers['x-agf-signature-256']), Math.floor(Date.now() / 1000))).toBe(false);
    expect(hook!.json).toMatchObject({
      type: 'io.agf.notification.assignment.v1',
      eventId: event.id,
      requestId,
      projectId: 'payments',
      severity: 'info',
      occurredAt: event.time,
      expertId: 'security_expert_human',
      link: `http://agf.test:3000/v1/deployment-requests/${requestId}`,
    });
    expect(hook!.json['id']).toEqual(expect.any(String));

    const [slack] = await eventually(() => {
      const found = http.at('/slack', requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    const blocks = slack!.json['blocks'] as Array<{ type: string; elements?: Array<{ url: string }> }>;
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(blocks[3]!.elements![0]!.url).toBe(`http://agf.test:3000/v1/deployment-requests/${requestId}`);

    const [mail] = await eventually(() => {
      const found = smtp.to(ALICE, requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(mail!.from).toBe('agf@example.com');
    expect(mail!.subject).toMatch(/^\[AGF\] \[info\] Review needed \(tier 1, security\) for payments/);
    expect(mail!.text).toContain(`Open the request: http://agf.test:3000/v1/deployment-requests/${requestId}`);

    await eventually(async () => {
      const rows = await deliveries(`requestId=${requestId}`);
      expect(rows.map((r) => `${r.channel}/${r.recipient}/${r.status}`).sort()).toEqual(['chat/channel/sent', 'mail/expert:security_expert_human/sent', 'ops/channel/sent']);
    });
  });

  it('a receiver that fails three times and recovers gets the delivery exactly once, with the same id on every attempt', async () => {
    const requestId = randomUUID();
    http.failTimes('/flaky', 3);
    await publish('sla.warning', timer(requestId, 0.75));

    await eventually(async () => {
      const [row] = (await deliveries(`requestId=${requestId}`)).filter((r) => r.channel === 'flaky');
      expect(row).toMatchObject({ status: 'sent', attempts: 4, lastError: null });
    });
    const attempts = http.at('/flaky', requestId);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(attempts.map((a) => a.json['id'])).size).toBe(1);
    await sleep(500);
    expect(http.at('/flaky', requestId).filter((a) => a.status === 200)).toHaveLength(1);
    expect(http.at('/webhook', requestId)).toHaveLength(1);
    expect(smtp.to(ALICE, requestId)).toHaveLength(1);
  });

  it('a redelivered event (same event, another NATS message) sends nothing twice', async () => {
    const requestId = randomUUID();
    const event = await publish('review.assigned', assignment(requestId));
    await eventually(() => expect(smtp.to(ALICE, requestId)).toHaveLength(1));
    // The same CloudEvent again under a new Nats-Msg-Id, so JetStream's duplicate window does not drop it.
    await nats.publish(subjectFor('review.assigned', 'payments'), JSON.stringify(event), `redelivery-${randomUUID()}`);
    await sleep(1500);
    expect(http.at('/webhook', requestId)).toHaveLength(1);
    expect(http.at('/slack', requestId)).toHaveLength(1);
    expect(smtp.to(ALICE, requestId)).toHaveLength(1);
    expect(await deliveries(`requestId=${requestId}`)).toHaveLength(3);
  });

  it('an event older than AGF_NOTIFY_MAX_EVENT_AGE_MS (a stream replayed by a new notify) notifies nobody', async () => {
    const requestId = randomUUID();
    const old = { ...createEvent({ name: 'review.assigned', source: 'coe', data: assignment(requestId), correlationId: requestId }), time: new Date(Date.now() - 2 * 86_400_000).toISOString() };
    await nats.publish(subjectFor('review.assigned', 'payments'), JSON.stringify(old), old.id);
    const fresh = randomUUID();
    await publish('review.assigned', assignment(fresh));
    await eventually(() => expect(http.at('/webhook', fresh)).toHaveLength(1));
    await eventually(async () => expect(notify.output.join('')).toContain(`assignment ${old.id} of request ${requestId} is 2880 min old: not notified`));
    expect(await deliveries(`requestId=${requestId}`)).toEqual([]);
    expect(http.at('/webhook', requestId)).toEqual([]);
  });

  it('a cancelled assignment tells its reviewer', async () => {
    const requestId = randomUUID();
    await publish('review.cancelled', { requestId, projectId: 'payments', assignmentId: randomUUID(), expertId: 'security_expert_human', reason: 'decided', cancelledAt: new Date().toISOString() });
    const [mail] = await eventually(() => {
      const found = smtp.to(ALICE, requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(mail!.subject).toBe('[AGF] [info] Review no longer needed (decided) for payments');
  });

  it('an escalation pages and emails oversight; the decision that resolves it resolves the page', async () => {
    const requestId = randomUUID();
    const now = new Date().toISOString();
    await publish('decision.escalated', {
      requestId,
      projectId: 'payments',
      componentName: 'checkout',
      version: '2.0.0',
      tierLevel: 1,
      riskScore: 0.55,
      reason: 'sla-breached',
      detail: 'nobody answered',
      level: 1,
      expertType: 'human_oversight',
      assignees: [{ assignmentId: randomUUID(), expertId: 'oversight_board_1' }],
      dueAt: new Date(Date.now() + 3_600_000).toISOString(),
      escalatedAt: now,
    });
    const [trigger] = await eventually(() => {
      const found = http.at('/pagerduty', requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(trigger!.json).toMatchObject({ routing_key: PD_KEY, event_action: 'trigger', dedup_key: requestId, payload: { severity: 'critical', source: 'agf/payments' } });
    await eventually(() => expect(smtp.to(OLIVIA, requestId)).toHaveLength(1));
    expect(smtp.to(OLIVIA, requestId)[0]!.subject).toContain('[critical] Escalated to human_oversight');

    await publish('decision.made', {
      ...aDecision({ requestId, projectId: 'payments', outcome: 'PROCEED_STANDARD' }),
      escalation: { reason: 'sla-breached', level: 1, escalatedAt: now, resolvedByAssignmentId: randomUUID(), resolvedByExpertId: 'oversight_board_1', justification: 'looked at it' },
    });
    await eventually(() => expect(http.at('/pagerduty', requestId)).toHaveLength(2));
    expect(http.at('/pagerduty', requestId)[1]!.json).toEqual({ routing_key: PD_KEY, event_action: 'resolve', dedup_key: requestId });
  });

  it('break-glass: critical SMS and email to oversight; a receiver that never recovers is dead-lettered and shown to operators', async () => {
    const requestId = randomUUID();
    await publish('deployment.break_glass', {
      requestId,
      projectId: 'payments',
      justification: 'the payment outage cannot wait for review',
      actor: { subject: 'erin', channel: 'http' },
      requestedAt: new Date().toISOString(),
    });
    const [sms] = await eventually(() => {
      const found = http.at('/sms', requestId);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(sms!.json).toMatchObject({ to: OLIVIA_PHONE, text: `AGF critical payments http://agf.test:3000/v1/deployment-requests/${requestId}` });
    await eventually(() => expect(smtp.to(OLIVIA, requestId)).toHaveLength(1));
    // The page the break-glass opened is closed by the request's final decision.
    await eventually(() => expect(http.at('/pagerduty', requestId).map((r) => r.json['event_action'])).toEqual(['trigger']));
    await publish('decision.made', aDecision({ requestId, projectId: 'payments', outcome: 'PROCEED_STANDARD' }));
    await eventually(() => expect(http.at('/pagerduty', requestId).map((r) => r.json['event_action'])).toEqual(['trigger', 'resolve']));

    const [dead] = await eventually(async () => {
      const found = (await deliveries('status=dead')).filter((d) => d.channel === 'broken' && d.recipient === 'channel');
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    }, 20_000);
    expect(dead!.attempts).toBeGreaterThan(2);
    expect(dead!.lastError).toMatch(/^HTTP 500 from 127\.0\.0\.1:\d+$/);
    const metrics = await (await fetch(`${notify.url}/metrics`, { headers: await admin() })).text();
    expect(metrics).toMatch(/^agf_notify_deliveries\{[^}]*status="dead"[^}]*\} [1-9]/m);
    // Secrets never reach the logs.
    expect(notify.output.join('')).not.toContain(WEBHOOK_SECRET);
    expect(notify.output.join('')).not.toContain(PD_KEY);
  });

  describe('project subscriptions', () => {
    const submitter = async (projects: string[]) => (await testIdentity()).headers({ sub: 'pipeline-bot', roles: ['submitter'], projects });
    const post = async (headers: Record<string, string>, body: unknown) =>
      fetch(`${notify.url}/v1/notifications/subscriptions`, { method: 'POST', headers, body: JSON.stringify(body) });

    it('refuses targets on loopback, private, link-local and metadata addresses (422), unless the host is allow-listed', async () => {
      const headers = await submitter(['shop']);
      for (const url of ['http://127.0.0.1:9/hook', 'http://10.1.2.3/hook', 'http://192.168.0.10/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/hook', 'http://metadata.google.internal/']) {
        const response = await post(headers, { projectId: 'shop', url, secret: 'a-secret-of-sixteen+', events: ['assignment'] });
        expect({ url, status: response.status, type: response.headers.get('content-type') }).toEqual({ url, status: 422, type: expect.stringContaining('application/problem+json') });
        const problem = (await response.json()) as { type: string; detail: string };
        expect(problem.type).toBe('https://agf.dev/problems/unsafe-webhook-target');
        expect(problem.detail).not.toContain('a-secret-of-sixteen+');
      }
    });

    it('a submitter subscribes its own project; the webhook is signed with its secret, which is never returned; 401, 403, 404 otherwise', async () => {
      const secret = `sub-secret-${randomUUID()}`;
      const mine = await submitter(['shop']);
      expect((await fetch(`${notify.url}/v1/notifications/subscriptions`)).status).toBe(401);
      const reviewer = await (await testIdentity()).headers({ sub: 'rita', roles: ['reviewer'], projects: ['*'] });
      expect((await post(reviewer, { projectId: 'shop', url: http.url('/sub', 'localhost'), secret, events: ['assignment'] })).status).toBe(403);
      expect((await post(await submitter(['other']), { projectId: 'shop', url: http.url('/sub', 'localhost'), secret, events: ['assignment'] })).status).toBe(403);
      expect((await fetch(`${notify.url}/v1/notifications/deliveries`, { headers: mine })).status).toBe(403);
      // Each refusal is evidence: a security.refused event for the audit trail.
      await eventually(async () => {
        const refused = (await nats.read('AGF_SECURITY')).map((m) => m.json<{ data: { service: string; code: string; target: string; actor?: { subject: string } } }>().data).filter((d) => d.service === 'notify');
        expect(refused).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ code: 'unauthenticated', target: 'GET /v1/notifications/subscriptions' }),
            expect.objectContaining({ code: 'forbidden', target: 'POST /v1/notifications/subscriptions', actor: expect.objectContaining({ subject: 'rita' }) }),
            expect.objectContaining({ code: 'forbidden', target: 'POST /v1/notifications/subscriptions', actor: expect.objectContaining({ subject: 'pipeline-bot' }) }),
            expect.objectContaining({ code: 'forbidden', target: 'GET /v1/notifications/deliveries' }),
          ]),
        );
      });

      const created = await post(mine, { projectId: 'shop', url: http.url('/sub', 'localhost'), secret, events: ['assignment'] });
      expect(created.status).toBe(201);
      const subscription = (await created.json()) as Record<string, unknown>;
      expect(subscription).toMatchObject({ projectId: 'shop', url: http.url('/sub', 'localhost'), events: ['assignment'], createdBy: 'pipeline-bot' });
      expect(JSON.stringify(subscription)).not.toContain(secret);
      const listed = await (await fetch(`${notify.url}/v1/notifications/subscriptions`, { headers: mine })).text();
      expect(listed).toContain(String(subscription['id']));
      expect(listed).not.toContain(secret);
      expect(await (await fetch(`${notify.url}/v1/notifications/subscriptions`, { headers: await submitter(['other']) })).json()).toEqual({ subscriptions: [] });

      const requestId = randomUUID();
      await publish('review.assigned', assignment(requestId, 'shop'));
      const [hook] = await eventually(() => {
        const found = http.at('/sub', requestId);
        expect(found).toHaveLength(1);
        return found;
      });
      expect(verifyWebhookSignature(secret, String(hook!.headers['x-agf-timestamp']), hook!.rawBody, String(hook!.headers['x-agf-signature-256']), Math.floor(Date.now() / 1000))).toBe(true);
      expect(hook!.json).toMatchObject({ type: 'io.agf.notification.assignment.v1', requestId, projectId: 'shop' });

      const other = await submitter(['other']);
      expect((await fetch(`${notify.url}/v1/notifications/subscriptions/${String(subscription['id'])}`, { method: 'DELETE', headers: other })).status).toBe(404);
      expect((await fetch(`${notify.url}/v1/notifications/subscriptions/${String(subscription['id'])}`, { method: 'DELETE', headers: mine })).status).toBe(204);
      expect(notify.output.join('')).not.toContain(secret);
    });

    it('checks the target again at send time: once the host is no longer allow-listed, nothing is sent to it', async () => {
      const secret = `sub-secret-${randomUUID()}`;
      const created = await post(await admin(), { projectId: 'late', url: http.url('/late', 'localhost'), secret, events: ['assignment'] });
      expect(created.status).toBe(201);
      await notify.stop();
      await notify.restart({ AGF_NOTIFY_ALLOWED_HOSTS: '' });
      const requestId = randomUUID();
      await publish('review.assigned', assignment(requestId, 'late'));
      await eventually(async () => {
        const [row] = (await deliveries(`requestId=${requestId}`)).filter((d) => d.channel.startsWith('subscription:'));
        expect(row!.lastError).toMatch(/^refused target: localhost resolves to a loopback address/);
      });
      expect(http.at('/late', requestId)).toHaveLength(0);
    });
  });

  it('a ${VAR} that is not set stops the start with a configuration error naming the key', async () => {
    const other = await createTestDatabase();
    try {
      await expect(ServiceProcess.start('notify', { databaseUrl: other.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: configPath, NOTIFY_TEST_PD_KEY: PD_KEY } })).rejects.toThrow(
        /exited with 78[\s\S]*notifications\.channels\[0\]\.secret: environment variable NOTIFY_TEST_WEBHOOK_SECRET is not set/,
      );
    } finally {
      await other.drop();
    }
  });
});
