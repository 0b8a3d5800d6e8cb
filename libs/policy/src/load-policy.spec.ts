import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from './load-policy';
import { registeredExperts } from './policy';

const shipped = readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8');

describe('agf-config.yaml', () => {
  it('ships a valid default with all five triggers and the PRD tiers', () => {
    const policy = parsePolicy(shipped);
    expect(policy.governance.trigger_conditions).toHaveLength(5);
    expect(policy.governance.sla_hours).toEqual({ tier_0: 4, tier_1: 24, tier_2: 48 });
    expect(registeredExperts(policy).map((e) => e.expertType)).toEqual(expect.arrayContaining(['security', 'architecture', 'performance', 'compliance', 'human_oversight']));
  });

  it.each([
    ['governance.enabled', 'enabled: true', 'enabled: "yes"', /governance\.enabled: .*expected boolean/],
    ['tier thresholds out of order', 'tier_0_max_risk: 0.3', 'tier_0_max_risk: 0.9', /tier_thresholds: expected tier_0_max_risk <= tier_1_max_risk/],
    ['a negative SLA', 'tier_1: 24', 'tier_1: -1', /governance\.sla_hours\.tier_1: Too small/],
    ['an unknown trigger', '"SECURITY_CHANGE"', '"SECURITY_CHANGES"', /governance\.trigger_conditions\.2: Invalid option/],
    ['a negative capacity', 'capacity: 10\n', 'capacity: -3\n', /experts\.security\.1\.capacity: Too small/],
    ['an unknown role in group_roles', '["auditor"]', '["superuser"]', /auth\.group_roles\.internal-audit\.0: Invalid option/],
    ['an unknown auth key', 'clock_skew_seconds: 30', 'clock_skew: 30', /auth: Unrecognized key: "clock_skew"/],
    ['a principal that is not text', 'principal: "sam"', 'principal: 7', /experts\.security\.2\.principal: Invalid input/],
  ])('names the key and what was expected for %s', (_case, good, bad, message) => {
    expect(() => parsePolicy(shipped.replace(good, bad))).toThrow(message);
  });

  it('binds each human expert to the subjects named by principal:, as a list whether written as one or many', () => {
    const experts = registeredExperts(parsePolicy(shipped.replace('principal: "sam"', 'principal: ["sam", "sam-backup"]')));
    expect(experts.find((e) => e.id === 'security_expert_human')?.principal).toEqual(['alice']);
    expect(experts.find((e) => e.id === 'security_lead_human')?.principal).toEqual(['sam', 'sam-backup']);
    expect(experts.find((e) => e.id === 'security_agent_1')?.principal).toEqual([]);
  });

  it('takes the auth section, and its defaults when it is left out', () => {
    expect(parsePolicy(shipped).auth.group_roles['internal-audit']).toEqual(['auditor']);
    const withoutAuth = shipped.slice(0, shipped.indexOf('auth:')) + shipped.slice(shipped.indexOf('monitoring:'));
    expect(parsePolicy(withoutAuth).auth).toEqual({ roles_claim: 'agf_roles', projects_claim: 'agf_projects', groups_claim: 'groups', group_roles: {}, clock_skew_seconds: 30 });
  });

  it('refuses YAML that does not parse, and duplicate expert ids', () => {
    expect(() => parsePolicy('governance: [')).toThrow(/not valid YAML/);
    expect(() => parsePolicy(shipped.replace('id: "architect_human"', 'id: "sre_human"'))).toThrow(/duplicate expert id sre_human/);
  });
});
