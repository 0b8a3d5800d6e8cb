import { parsePolicy } from '@agf/policy';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { loadNotifyConfig, NotifyConfigError, PolicyRecipientDirectory } from './notify-config';

const base = parse(readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8')) as Record<string, unknown> & { experts: Record<string, Array<Record<string, unknown>>> };

function policyWith(notifications: unknown, emails: Record<string, string> = {}) {
  const experts = Object.fromEntries(Object.entries(base.experts).map(([type, list]) => [type, list.map((e) => (emails[String(e['id'])] ? { ...e, email: emails[String(e['id'])] } : e))]));
  return parsePolicy(stringify({ ...base, experts, notifications }));
}

describe('notify configuration', () => {
  it('the repository configuration (no notifications section) starts with nothing to send and the 24 h retry window', () => {
    const config = loadNotifyConfig(parsePolicy(readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8')), {});
    expect(config.notifications).toMatchObject({ channels: [], routes: [] });
    expect(config.backoff).toEqual({ baseMs: 5000, maxMs: 3_600_000, retryWindowMs: 86_400_000 });
    expect(config.allowedHosts.size).toBe(0);
  });

  it('refuses a route to an expert the registry does not know, and a missing ${VAR}, naming the key', () => {
    const mail = { name: 'mail', kind: 'email', smtp_url: 'smtp://mail.example.com:25', from: 'agf@example.com' };
    expect(() => loadNotifyConfig(policyWith({ channels: [mail], routes: [{ events: ['assignment'], channels: ['mail'], to: 'nobody_here' }] }), {})).toThrow(
      new NotifyConfigError('agf-config.yaml notifications.routes: to names no expert: nobody_here'),
    );
    const hook = { name: 'ops', kind: 'webhook', url: 'https://hooks.example.com', secret: '${OPS_SECRET}' };
    expect(() => loadNotifyConfig(policyWith({ channels: [hook], routes: [] }), {})).toThrow(/notifications\.channels\[0\]\.secret: environment variable OPS_SECRET is not set/);
  });

  it('the directory reads addresses from the experts, and oversight is every human_oversight expert', () => {
    const directory = new PolicyRecipientDirectory(policyWith(undefined, { security_expert_human: 'alice@example.com' }));
    expect(directory.emailOf('security_expert_human')).toBe('alice@example.com');
    expect(directory.emailOf('arch_agent_1')).toBeUndefined();
    expect(directory.phoneOf('security_expert_human')).toBeUndefined();
    expect(directory.oversightExperts()).toEqual(['oversight_board_1', 'oversight_board_2']);
  });
});
