import type { FiredTrigger, RiskIndicators } from '@agf/contracts';
import { isAvailableAt, normaliseSpecialty, pickExpert, rankCandidates, requestAreas, specialtyOverlap, type RoutingContext } from './routing';
import type { ExpertCandidate } from './types';

const now = new Date('2026-06-01T12:00:00Z');

function expert(id: string, extra: Partial<ExpertCandidate> = {}): ExpertCandidate {
  return { id, expertType: 'security', type: 'human', level: 'standard', runtime: 'builtin', specialties: [], capacity: 5, openReviews: 0, principal: [], ...extra };
}

const context = (extra: Partial<RoutingContext> = {}): RoutingContext => ({ requester: 'dev-dana', now, ...extra });
const areasOf = (changes: string[], riskIndicators: RiskIndicators = {}, triggers: FiredTrigger['condition'][] = []) =>
  requestAreas({ changes, riskIndicators }, triggers.map((condition) => ({ condition })));

describe('requestAreas', () => {
  it('derives security areas from changed paths', () => {
    expect(areasOf(['src/auth/login.ts'])).toEqual(['access_control', 'authentication']);
    expect(areasOf(['src/rbac/permissions.ts'])).toEqual(['access_control', 'authorization']);
    expect(areasOf(['config/secrets.yaml'])).toEqual(['secret_detection']);
    expect(areasOf(['lib/tls/certificates.ts'])).toEqual(['cryptography']);
    expect(areasOf(['package-lock.json'])).toEqual(['dependencies', 'vulnerability_scan']);
  });

  it('derives other areas from changed paths', () => {
    expect(areasOf(['db/migrations/0042_add_orders.sql'])).toEqual(['database']);
    expect(areasOf(['deploy/terraform/main.tf'])).toEqual(['infrastructure']);
    expect(areasOf(['api/openapi.yaml'])).toEqual(['api_design']);
    expect(areasOf(['src/cache/warmup.ts'])).toEqual(['performance']);
  });

  it('has nothing to say about a plain change', () => {
    expect(areasOf(['src/cart.ts', 'README.md'])).toEqual([]);
  });

  it('derives areas from the risk indicators', () => {
    expect(areasOf([], { securitySensitive: true })).toEqual(['access_control', 'secret_detection']);
    expect(areasOf([], { vulnerabilities: { high: 1 } })).toEqual(['vulnerability_scan']);
    expect(areasOf([], { vulnerabilities: { high: 0 } })).toEqual([]);
    expect(areasOf([], { touchesPersonalData: true, complianceScopes: ['SOC2', 'ISO 27001'] })).toEqual(['gdpr', 'iso_27001', 'privacy', 'soc2']);
    expect(areasOf([], { userImpact: 'critical', testsPassed: false })).toEqual(['reliability', 'testing']);
    expect(areasOf([], { userImpact: 'low', testsPassed: true })).toEqual([]);
  });

  it('derives areas from the triggers, once each and sorted', () => {
    expect(areasOf([], {}, ['COMPLIANCE_REQUIRED', 'CROSS_PROJECT_IMPACT', 'DOMINO_COMPLETE', 'CRITICAL_DEPLOYMENT', 'SECURITY_CHANGE'])).toEqual([
      'compliance',
      'cross_project',
      'design_review',
      'policy_check',
      'release_approval',
      'reliability',
    ]);
    expect(areasOf(['src/auth/a.ts', 'src/auth/b.ts'], { securitySensitive: true })).toEqual(['access_control', 'authentication', 'secret_detection']);
  });
});

describe('specialties', () => {
  it('compare case- and separator-insensitively', () => {
    expect(normaliseSpecialty(' Access-Control ')).toBe('access_control');
    expect(normaliseSpecialty('Threat Modeling')).toBe('threat_modeling');
    expect(specialtyOverlap(expert('a', { specialties: ['Access Control', 'access_control', 'gdpr'] }), new Set(['access_control', 'secret_detection']))).toBe(1);
  });
});

describe('isAvailableAt', () => {
  it('is true by default and false when marked unavailable', () => {
    expect(isAvailableAt({}, now)).toBe(true);
    expect(isAvailableAt({ available: true, away: null }, now)).toBe(true);
    expect(isAvailableAt({ available: false }, now)).toBe(false);
  });

  it('is false inside an away period only (from inclusive, until exclusive)', () => {
    const away = (from: string, until: string) => isAvailableAt({ available: true, away: { from, until } }, now);
    expect(away('2026-06-01T00:00:00Z', '2026-06-02T00:00:00Z')).toBe(false);
    expect(away('2026-06-01T12:00:00Z', '2026-06-02T00:00:00Z')).toBe(false);
    expect(away('2026-05-01T00:00:00Z', '2026-06-01T12:00:00Z')).toBe(true);
    expect(away('2026-06-02T00:00:00Z', '2026-06-03T00:00:00Z')).toBe(true);
  });
});

describe('pickExpert', () => {
  const standard = { role: 'standard' as const, expertType: 'security' as const };

  it('prefers the expert whose specialties overlap most with the request areas, even when busier', () => {
    const candidates = [
      expert('generalist', { openReviews: 0 }),
      expert('auth_specialist', { openReviews: 3, specialties: ['access_control'] }),
      expert('auth_and_secrets', { openReviews: 4, specialties: ['access_control', 'secret_detection'] }),
    ];
    expect(pickExpert(candidates, standard, context({ areas: ['access_control', 'secret_detection'] }))?.id).toBe('auth_and_secrets');
    expect(pickExpert(candidates, standard, context({ areas: ['access_control'] }))?.id).toBe('auth_specialist');
  });

  it('falls back to the least loaded (relative to capacity, then absolute), then the id, when specialties do not decide', () => {
    const candidates = [expert('b', { openReviews: 1 }), expert('a', { openReviews: 1 }), expert('c', { openReviews: 2, capacity: 20 })];
    expect(rankCandidates(candidates, standard, context()).map((e) => e.id)).toEqual(['c', 'a', 'b']);
    expect(rankCandidates(candidates, standard, context({ areas: ['gdpr'] })).map((e) => e.id)).toEqual(['c', 'a', 'b']);
  });

  it('counts the load the caller passes over the candidates own open reviews', () => {
    const candidates = [expert('a'), expert('b')];
    expect(pickExpert(candidates, standard, context({ load: new Map([['a', 2]]) }))?.id).toBe('b');
  });

  it('never picks an expert at capacity, even the best match', () => {
    const candidates = [expert('full', { openReviews: 5, specialties: ['access_control'] }), expert('free', { openReviews: 4 })];
    expect(pickExpert(candidates, standard, context({ areas: ['access_control'] }))?.id).toBe('free');
    expect(pickExpert([candidates[0]!], standard, context())).toBeUndefined();
    expect(pickExpert(candidates, standard, context({ load: new Map([['free', 5]]) }))).toBeUndefined();
  });

  it('never picks an unavailable, away or deactivated expert', () => {
    const candidates = [
      expert('unavailable', { available: false, specialties: ['access_control'] }),
      expert('away', { away: { from: '2026-05-30T00:00:00Z', until: '2026-06-10T00:00:00Z' }, specialties: ['access_control'] }),
      expert('removed', { active: false, specialties: ['access_control'] }),
      expert('back', { away: { from: '2026-05-01T00:00:00Z', until: '2026-05-10T00:00:00Z' }, openReviews: 4 }),
    ];
    expect(rankCandidates(candidates, standard, context({ areas: ['access_control'] })).map((e) => e.id)).toEqual(['back']);
  });

  it('never picks the requester, by expert id or as a bound principal', () => {
    const candidates = [expert('dev-dana', { specialties: ['access_control'] }), expert('bound', { principal: ['dev-dana'], specialties: ['access_control'] }), expert('other', { openReviews: 4 })];
    expect(rankCandidates(candidates, standard, context({ areas: ['access_control'] })).map((e) => e.id)).toEqual(['other']);
  });

  it('never picks an excluded expert', () => {
    const candidates = [expert('a'), expert('b', { openReviews: 1 })];
    expect(pickExpert(candidates, standard, context({ excluded: new Set(['a']) }))?.id).toBe('b');
  });

  it('matches the type and the role: validators are automated, standard and strategic by level, oversight any person', () => {
    const candidates = [
      expert('agent', { type: 'automated' }),
      expert('std', { level: 'standard' }),
      expert('lead', { level: 'strategic' }),
      expert('arch', { expertType: 'architecture' }),
      expert('board', { expertType: 'human_oversight', level: 'strategic' }),
      expert('board_std', { expertType: 'human_oversight', level: 'standard', openReviews: 1 }),
    ];
    const ids = (need: Parameters<typeof rankCandidates>[1]) => rankCandidates(candidates, need, context()).map((e) => e.id);
    expect(ids({ role: 'validator', expertType: 'security' })).toEqual(['agent']);
    expect(ids({ role: 'standard', expertType: 'security' })).toEqual(['std']);
    expect(ids({ role: 'strategic', expertType: 'security' })).toEqual(['lead']);
    expect(ids({ role: 'standard', expertType: 'architecture' })).toEqual(['arch']);
    expect(ids({ role: 'oversight', expertType: 'human_oversight' })).toEqual(['board', 'board_std']);
    expect(ids({ role: 'strategic', exceptTypes: ['human_oversight'] })).toEqual(['lead']);
  });

  it('is deterministic whatever order the candidates come in', () => {
    const candidates = [expert('c', { specialties: ['gdpr'] }), expert('a', { specialties: ['gdpr'] }), expert('b', { specialties: ['gdpr'] })];
    const orders = [candidates, [...candidates].reverse(), [candidates[1]!, candidates[2]!, candidates[0]!]];
    expect(orders.map((order) => pickExpert(order, standard, context({ areas: ['gdpr'] }))?.id)).toEqual(['a', 'a', 'a']);
  });

  it('leaves the candidates array as it was', () => {
    const candidates = [expert('b'), expert('a')];
    rankCandidates(candidates, standard, context());
    expect(candidates.map((e) => e.id)).toEqual(['b', 'a']);
  });
});
