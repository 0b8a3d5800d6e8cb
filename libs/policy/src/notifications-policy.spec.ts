import { MissingVariableError, NotificationsPolicy, resolveNotificationVariables } from './notifications-policy';

const issue24Example = {
  channels: [
    { name: 'ops', kind: 'webhook', url: 'https://hooks.example.com/agf', secret: '${AGF_OPS_WEBHOOK_SECRET}' },
    { name: 'mail', kind: 'email', smtp_url: 'smtp://mail.example.com:587', from: 'agf@example.com' },
  ],
  routes: [
    { events: ['assignment', 'sla.warning', 'sla.breached', 'escalation', 'decision', 'break-glass'], channels: ['ops'] },
    { events: ['assignment', 'sla.warning', 'escalation'], channels: ['mail'], to: 'assignee' },
  ],
};

describe('notifications policy', () => {
  it("accepts the issue's example and fills the defaults", () => {
    const parsed = NotificationsPolicy.parse(issue24Example);
    expect(parsed.link_base_url).toBe('http://localhost:3000');
    expect(parsed.channels[1]).toMatchObject({ kind: 'email', subject_prefix: '[AGF]' });
  });

  it('names the key of every mistake: unknown channel, a person-channel without `to`, a duplicate name, an unknown event, a bad URL', () => {
    const result = NotificationsPolicy.safeParse({
      channels: [
        { name: 'ops', kind: 'webhook', url: 'ftp://x', secret: 's' },
        { name: 'ops', kind: 'sms', url: 'https://sms.example.com' },
      ],
      routes: [
        { events: ['assignment'], channels: ['nope'] },
        { events: ['sla.warning'], channels: ['ops'] },
        { events: ['tea-time'], channels: ['ops'] },
      ],
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^channels\.0\.url: expected a http or https URL/),
        expect.stringMatching(/^routes\.2\.events\.0: /),
      ]),
    );
    const refined = NotificationsPolicy.safeParse({
      channels: [
        { name: 'ops', kind: 'webhook', url: 'https://x.example', secret: 's' },
        { name: 'ops', kind: 'sms', url: 'https://sms.example.com' },
      ],
      routes: [
        { events: ['assignment'], channels: ['nope'] },
        { events: ['sla.warning'], channels: ['ops'] },
      ],
    });
    expect(refined.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'channels.1.name: duplicate channel name ops',
      'routes.0.channels.0: no channel named nope',
      'routes.1.to: channel ops (sms) reaches a person: say who (assignee, oversight or an expert id)',
    ]);
  });

  it('substitutes ${VAR} from the environment, and a missing one names its key, not a value', () => {
    const parsed = NotificationsPolicy.parse(issue24Example);
    const resolved = resolveNotificationVariables(parsed, { AGF_OPS_WEBHOOK_SECRET: 'top-secret' });
    expect(resolved.channels[0]).toMatchObject({ secret: 'top-secret' });
    expect(() => resolveNotificationVariables(parsed, {})).toThrow(new MissingVariableError('notifications.channels[0].secret: environment variable AGF_OPS_WEBHOOK_SECRET is not set'));
  });

  it('checks a substituted URL again without printing it', () => {
    const parsed = NotificationsPolicy.parse({ channels: [{ name: 'chat', kind: 'slack', webhook_url: '${SLACK_URL}' }] });
    expect(() => resolveNotificationVariables(parsed, { SLACK_URL: 'not a url with secret-123' })).toThrow(/notifications\.channels\[0\]\.webhook_url: expected a http or https URL/);
    expect(() => resolveNotificationVariables(parsed, { SLACK_URL: 'not a url with secret-123' })).not.toThrow(/secret-123/);
  });
});
