import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from './load-policy';
import { compliancePacksOf } from './projects-policy';

const shipped = readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8');

describe('compliance packs and retention in agf-config.yaml', () => {
  it('are optional: all packs, no retention', () => {
    const policy = parsePolicy(shipped);
    expect(compliancePacksOf(policy.projects, policy.compliance.packs, 'demo')).toBeUndefined();
    expect(policy.retention).toBeUndefined();
  });

  it('selects packs by default and per project, and fills retention defaults', () => {
    const yaml = shipped.replace('compliance:\n  rules:', 'compliance:\n  packs: ["soc2@1", "gdpr"]\n  rules:');
    const policy = parsePolicy(`${yaml}\nprojects:\n  demo:\n    compliance_packs: ["iso27001"]\nretention:\n  personal_days: 30\n`);
    expect(compliancePacksOf(policy.projects, policy.compliance.packs, 'demo')).toEqual(['iso27001']);
    expect(compliancePacksOf(policy.projects, policy.compliance.packs, 'billing')).toEqual(['soc2@1', 'gdpr']);
    expect(compliancePacksOf(policy.projects, policy.compliance.packs, undefined)).toEqual(['soc2@1', 'gdpr']);
    expect(policy.retention).toEqual({ personal_days: 30, confidential_days: 365, operational_days: 730, audit_evidence_days: 2555, run_every_minutes: 60 });
  });

  it.each([
    ['an unknown pack', 'projects:\n  demo:\n    compliance_packs: ["pci"]', /projects\.demo\.compliance_packs\.0: expected soc2, iso27001 or gdpr/],
    ['a retention of zero days', 'retention:\n  personal_days: 0', /retention\.personal_days/],
    ['an unknown retention key', 'retention:\n  personal_dayz: 5', /retention: Unrecognized key: "personal_dayz"/],
  ])('names the key for %s', (_case, yaml, message) => {
    expect(() => parsePolicy(`${shipped}\n${yaml}\n`)).toThrow(message);
  });
});
