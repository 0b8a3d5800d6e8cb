import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { verifyWebhookSignature } from '@agf/notify-domain';
import { eventually, ServiceProcess } from '@agf/testing';
import { parse, stringify } from 'yaml';
import { TestSystem } from '../governance/system';
import { HttpReceivers, SmtpReceiver } from './receivers';

jest.setTimeout(180_000);

const SECRET = 'system-webhook-secret-0123456789';
const FIXTURES = join(__dirname, '..', 'fixtures');
const emailOf = (expertId: string) => `${expertId.replace(/_/g, '.')}@example.com`;

/** The whole system plus notify: the governance fixture, every human expert with an email, a webhook and an SMTP channel. */
describe('notify in the whole system', () => {
  let system: TestSystem;
  let notify: ServiceProcess;
  let http: HttpReceivers;
  let smtp: SmtpReceiver;
  let dir: string;

  beforeAll(async () => {
    [http, smtp] = await Promise.all([HttpReceivers.start(), SmtpReceiver.start()]);
    type Expert = { id: string; type: string; email?: string };
    const config = parse(readFileSync(join(FIXTURES, 'agf-config.governance.yaml'), 'utf8')) as { experts: Record<string, Expert[]>; notifications?: unknown };
    for (const experts of Object.values(config.experts)) for (const expert of experts) if (expert.type === 'human') expert.email = emailOf(expert.id);
    config.notifications = {
      channels: [
        { name: 'ops', kind: 'webhook', url: http.url('/webhook'), secret: '${NOTIFY_SYSTEM_SECRET}' },
        { name: 'mail', kind: 'email', smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'agf@example.com' },
      ],
      routes: [
        { events: ['assignment', 'sla.warning', 'sla.breached', 'escalation', 'decision', 'break-glass'], channels: ['ops'] },
        { events: ['assignment', 'sla.warning', 'escalation'], channels: ['mail'], to: 'assignee' },
      ],
    };
    dir = mkdtempSync(join(tmpdir(), 'agf-notify-system-'));
    const configPath = join(dir, 'agf-config.yaml');
    writeFileSync(configPath, stringify(config));
    // Every service reads the same file (the harness resolves it under test/fixtures).
    process.env['NOTIFY_SYSTEM_SECRET'] = SECRET;
    system = await TestSystem.start(relative(FIXTURES, configPath));
    notify = await ServiceProcess.start('notify', { databaseUrl: system.db.url, namespace: system.nats.namespace.prefix, env: { AGF_CONFIG: configPath } });
  });

  afterAll(async () => {
    await notify?.stop();
    await system?.stop();
    await Promise.all([http?.stop(), smtp?.stop()]);
    delete process.env['NOTIFY_SYSTEM_SECRET'];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a tier-1 request: the assigned reviewer gets an email and a signed webhook goes out; their approval is announced as the decision', async () => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'orders-api',
        changes: ['src/orders/schema.ts'],
        riskIndicators: { codeChanges: 60, filesChanged: 4, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
      }),
    );
    const humans = await eventually(() => {
      const found = http.at('/webhook', id).filter((r) => r.json['event'] === 'assignment' && r.json['expertKind'] === 'human');
      expect(found.length).toBeGreaterThanOrEqual(1);
      return found;
    }, 30_000);
    for (const hook of humans) {
      expect(verifyWebhookSignature(SECRET, String(hook.headers['x-agf-timestamp']), hook.rawBody, String(hook.headers['x-agf-signature-256']), Math.floor(Date.now() / 1000))).toBe(true);
      expect(hook.json).toMatchObject({ type: 'io.agf.notification.assignment.v1', requestId: id, projectId: 'orders-api', severity: expect.any(String), tierLevel: expect.any(Number) });
    }
    const expertId = String(humans[0]!.json['expertId']);
    const [mail] = await eventually(() => {
      const found = smtp.to(emailOf(expertId), id);
      expect(found).toHaveLength(1);
      return found;
    });
    expect(mail!.text).toContain(`/v1/deployment-requests/${id}`);

    for (const hook of humans) {
      const response = await system.review(id, { assignmentId: hook.json['assignmentId'], expertId: hook.json['expertId'], decision: 'approve', comments: 'backwards compatible' });
      expect(response.status).toBe(202);
    }
    const decision = await system.decision(id);
    const [announced] = await eventually(() => {
      const found = http.at('/webhook', id).filter((r) => r.json['event'] === 'decision');
      expect(found).toHaveLength(1);
      return found;
    }, 30_000);
    expect(announced!.json).toMatchObject({ type: 'io.agf.notification.decision.v1', outcome: decision.data.outcome, approved: true, eventId: decision.id });
  });
});
