import { aDeploymentRequest } from '@agf/contracts/testing';
import type { AnalyzerResult, ComplianceEvaluated, DeploymentRequest, FiredTrigger, RiskIndicators } from '@agf/contracts';
import { AuthPolicy, EscalationPolicy, type GovernancePolicy } from '@agf/policy';
import {
  acceptReview,
  type AssignmentState,
  calculateConfidence,
  classifyTier,
  decide,
  decideWithoutGovernance,
  detectTriggers,
  type ExpertCandidate,
  isReadyToDecide,
  planAssignments,
  planBreachResponse,
  type RiskView,
  runBuiltinValidator,
} from './index';

const policy = {
  governance: {
    enabled: true,
    trigger_conditions: ['DOMINO_COMPLETE', 'CRITICAL_DEPLOYMENT', 'SECURITY_CHANGE', 'COMPLIANCE_REQUIRED', 'CROSS_PROJECT_IMPACT'],
    tier_thresholds: { tier_0_max_risk: 0.3, tier_1_max_risk: 0.7, tier_2_max_risk: 1 },
    sla_hours: { tier_0: 4, tier_1: 24, tier_2: 48 },
    min_confidence: 0.35,
    risk_weights: { security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 },
  },
  experts: {},
  monitoring: { alerts: { critical_threshold: 0.8, warning_threshold: 0.6, notification_channels: [] } },
  compliance: { rules: [] },
  auth: AuthPolicy.parse({}),
  escalation: EscalationPolicy.parse({}),
} as GovernancePolicy;

const analyzer = (score: number, factors: string[] = []): AnalyzerResult => ({ score, confidence: 0.8, factors, mitigations: [] });

function aRisk(overrides: Partial<RiskView> = {}): RiskView {
  const { requestId, projectId } = { requestId: '00000000-0000-4000-8000-000000000001', projectId: 'payments-api' };
  return {
    requestId,
    projectId,
    overallScore: 0.2,
    securityScore: 0.1,
    complexityScore: 0.1,
    impactScore: 0.1,
    historicalScore: 0.3,
    confidence: 0.7,
    riskFactors: [],
    mitigationSuggestions: [],
    analyzers: { security: analyzer(0.1), complexity: analyzer(0.1), impact: analyzer(0.1), historical: analyzer(0.3) },
    weights: { security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 },
    revision: 1,
    assessedAt: new Date(0).toISOString(),
    ...overrides,
  };
}

const requestWith = (riskIndicators: RiskIndicators, extra: Partial<DeploymentRequest> = {}) =>
  aDeploymentRequest({ riskIndicators: { testsPassed: true, ...riskIndicators }, changes: ['src/cart.ts'], ...extra });

function expert(id: string, expertType: ExpertCandidate['expertType'], type: 'automated' | 'human', extra: Partial<ExpertCandidate> = {}): ExpertCandidate {
  return { id, expertType, type, level: 'standard', runtime: 'builtin', specialties: [], capacity: 5, openReviews: 0, principal: [], ...extra };
}

const registry: ExpertCandidate[] = [
  expert('security_agent', 'security', 'automated'),
  expert('security_human_a', 'security', 'human', { openReviews: 3 }),
  expert('security_human_b', 'security', 'human', { openReviews: 1 }),
  expert('security_lead', 'security', 'human', { level: 'strategic' }),
  expert('arch_agent', 'architecture', 'automated'),
  expert('architect', 'architecture', 'human'),
  expert('compliance_agent', 'compliance', 'automated'),
  expert('dpo', 'compliance', 'human'),
  expert('oversight_1', 'human_oversight', 'human', { level: 'strategic', openReviews: 2 }),
  expert('oversight_2', 'human_oversight', 'human', { level: 'strategic' }),
];

let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
const now = new Date('2026-11-25T10:00:00Z');

describe('detectTriggers', () => {
  it.each<[string, DeploymentRequest, number, string[]]>([
    ['nothing risky', requestWith({ userImpact: 'low' }), 0.2, []],
    ['DOMINO by completion', requestWith({ completionPercentage: 100 }), 0.2, ['DOMINO_COMPLETE']],
    ['DOMINO by metadata', requestWith({}, { metadata: { completionMode: 'DOMINO' } }), 0.2, ['DOMINO_COMPLETE']],
    ['critical by score', requestWith({}), 0.85, ['CRITICAL_DEPLOYMENT']],
    ['critical by user impact', requestWith({ userImpact: 'critical' }), 0.2, ['CRITICAL_DEPLOYMENT']],
    ['security flag', requestWith({ securitySensitive: true }), 0.2, ['SECURITY_CHANGE']],
    ['security by changed path', requestWith({}, { changes: ['src/auth/login.ts'] }), 0.2, ['SECURITY_CHANGE']],
    ['security by vulnerable dependency', requestWith({ vulnerabilities: { high: 1 } }), 0.2, ['SECURITY_CHANGE']],
    ['compliance scopes', requestWith({ complianceScopes: ['SOC2'] }), 0.2, ['COMPLIANCE_REQUIRED']],
    ['personal data', requestWith({ touchesPersonalData: true }), 0.2, ['COMPLIANCE_REQUIRED']],
    ['another project', requestWith({ affectedProjects: ['billing'] }), 0.2, ['CROSS_PROJECT_IMPACT']],
    ['only its own project', requestWith({ affectedProjects: ['payments-api'] }), 0.2, []],
  ])('%s', (_name, request, overallScore, expected) => {
    expect(detectTriggers({ request, overallScore, policy }).map((t) => t.condition)).toEqual(expected);
  });

  it('explains why a trigger fired', () => {
    const [trigger] = detectTriggers({ request: requestWith({ vulnerabilities: { critical: 2 } }), overallScore: 0.2, policy });
    expect(trigger!.reason).toContain('2 known vulnerabilities');
  });

  it('fires only the conditions switched on, and nothing when governance is off', () => {
    const request = requestWith({ securitySensitive: true, touchesPersonalData: true });
    const onlyCompliance = { ...policy, governance: { ...policy.governance, trigger_conditions: ['COMPLIANCE_REQUIRED' as const] } };
    expect(detectTriggers({ request, overallScore: 0.2, policy: onlyCompliance }).map((t) => t.condition)).toEqual(['COMPLIANCE_REQUIRED']);
    const off = { ...policy, governance: { ...policy.governance, enabled: false } };
    expect(detectTriggers({ request, overallScore: 0.9, policy: off })).toEqual([]);
  });
});

describe('classifyTier', () => {
  const fired = (...conditions: FiredTrigger['condition'][]) => conditions.map((condition) => ({ condition, reason: 'test' }));
  it.each<[string, number, RiskIndicators, FiredTrigger[], number]>([
    ['low risk', 0.1, {}, fired('SECURITY_CHANGE'), 0],
    ['at the tier 0 maximum', 0.3, {}, fired('SECURITY_CHANGE'), 0],
    ['medium risk', 0.5, {}, fired('SECURITY_CHANGE'), 1],
    ['high risk', 0.75, {}, fired('CRITICAL_DEPLOYMENT'), 2],
    ['critical vulnerability raises to 1', 0.1, { vulnerabilities: { critical: 1 } }, fired('SECURITY_CHANGE'), 1],
    ['cross-project raises to 1', 0.1, {}, fired('CROSS_PROJECT_IMPACT'), 1],
    ['DOMINO with critical impact raises to 2', 0.1, { userImpact: 'critical' }, fired('DOMINO_COMPLETE', 'CRITICAL_DEPLOYMENT'), 2],
    ['a rule never lowers', 0.9, {}, fired('CROSS_PROJECT_IMPACT'), 2],
  ])('%s', (_name, overallScore, indicators, triggers, tier) => {
    const result = classifyTier({ overallScore, request: requestWith(indicators), triggers, policy });
    expect(result.tier).toBe(tier);
    expect(result.reasons.length).toBeGreaterThan(0);
  });
});

describe('planAssignments', () => {
  const plan = (tier: 0 | 1 | 2, indicators: RiskIndicators, triggers: FiredTrigger[], experts = registry, extra: Partial<DeploymentRequest> = {}) =>
    planAssignments({ tier, request: requestWith(indicators, extra), risk: aRisk(), triggers, experts, slaHours: policy.governance.sla_hours, now, newId });
  const security = [{ condition: 'SECURITY_CHANGE' as const, reason: 'marked security-sensitive' }];

  it('tier 0: automated validators only, with the tier 0 SLA', () => {
    const { assignments, unfilled } = plan(0, { securitySensitive: true }, security);
    expect(assignments.map((a) => [a.expertId, a.role])).toEqual([['security_agent', 'validator']]);
    expect(unfilled).toEqual([]);
    expect(assignments[0]!.slaDueAt.getTime() - now.getTime()).toBe(4 * 3_600_000);
  });

  it('tier 1: adds the least-loaded standard reviewer of the called-for type', () => {
    const { assignments } = plan(1, { securitySensitive: true }, security);
    expect(assignments.map((a) => [a.expertId, a.role])).toEqual([
      ['security_agent', 'validator'],
      ['security_human_b', 'standard'],
    ]);
    expect(assignments[1]!.slaHours).toBe(24);
  });

  it('tier 2: adds strategic reviewers and one human_oversight expert (the least loaded)', () => {
    const { assignments } = plan(2, { securitySensitive: true }, security);
    expect(assignments.map((a) => [a.expertId, a.role])).toEqual([
      ['security_agent', 'validator'],
      ['security_human_b', 'standard'],
      ['security_lead', 'strategic'],
      ['oversight_2', 'oversight'],
    ]);
  });

  it('never assigns the requester', () => {
    const { assignments } = plan(1, { securitySensitive: true }, security, registry, { requester: 'security_human_b' });
    expect(assignments.map((a) => a.expertId)).toContain('security_human_a');
    expect(assignments.map((a) => a.expertId)).not.toContain('security_human_b');
  });

  it('never assigns an expert the requester is bound to answer for', () => {
    const bound = registry.map((e) => (e.id === 'security_human_b' ? { ...e, principal: ['alice@example.com'] } : e));
    const { assignments } = plan(1, { securitySensitive: true }, security, bound, { requester: 'alice@example.com' });
    expect(assignments.map((a) => a.expertId)).toEqual(['security_agent', 'security_human_a']);
    const breach = planBreachResponse({
      breached: { assignmentId: newId(), expertId: 'security_human_a', expertType: 'security', role: 'standard', tierLevel: 1 },
      priorBreachesForRequest: 0,
      experts: bound,
      excludedExpertIds: ['security_agent', 'security_human_a'],
      requester: 'alice@example.com',
      now,
      slaHours: policy.governance.sla_hours,
      newId,
    });
    expect(breach.action !== 'escalate' && breach.assignment.expertId).not.toBe('security_human_b');
  });

  it('skips experts at capacity and reports a role nobody can fill', () => {
    const full = registry.map((e) => (e.expertType === 'security' && e.type === 'human' ? { ...e, openReviews: e.capacity } : e));
    const { assignments, unfilled } = plan(1, { securitySensitive: true }, security, full);
    expect(assignments.map((a) => a.expertId)).toEqual(['security_agent']);
    expect(unfilled).toEqual([{ role: 'standard', expertType: 'security', reason: expect.stringContaining('free capacity') }]);
  });

  it('calls for compliance and architecture reviewers from the triggers', () => {
    const triggers: FiredTrigger[] = [
      { condition: 'COMPLIANCE_REQUIRED', reason: 'touches personal data' },
      { condition: 'CROSS_PROJECT_IMPACT', reason: 'affects 1 other project: billing' },
    ];
    const { assignments } = plan(1, { touchesPersonalData: true, affectedProjects: ['billing'] }, triggers);
    expect(assignments.map((a) => a.expertId).sort()).toEqual(['arch_agent', 'architect', 'compliance_agent', 'dpo']);
    expect(assignments.find((a) => a.expertId === 'dpo')!.scope).toEqual(['touches personal data']);
  });
});

describe('planAssignments routing (specialties, availability)', () => {
  const security = [{ condition: 'SECURITY_CHANGE' as const, reason: 'changes touch authentication' }];
  const plan = (experts: ExpertCandidate[], changes = ['src/auth/login.ts'], tier: 1 | 2 = 1) =>
    planAssignments({ tier, request: requestWith({ securitySensitive: true }, { changes }), risk: aRisk(), triggers: security, experts, slaHours: policy.governance.sla_hours, now, newId });
  const humanOf = (experts: ExpertCandidate[], changes?: string[]) => plan(experts, changes).assignments.find((a) => a.role === 'standard')?.expertId;

  it('prefers the reviewer whose specialties match the areas the change touches, over a less loaded one', () => {
    const experts = registry.map((e) => (e.id === 'security_human_a' ? { ...e, specialties: ['access_control'] } : e));
    expect(humanOf(experts)).toBe('security_human_a');
    // Marked security-sensitive, a change touches access control whatever its paths.
    expect(humanOf(experts, ['src/cart.ts'])).toBe('security_human_a');
    // Specialties that match nothing decide nothing: the less loaded takes it.
    const matchless = experts.map((e) => (e.id === 'security_human_a' ? { ...e, specialties: ['gdpr'] } : e));
    expect(humanOf(matchless)).toBe('security_human_b');
  });

  it('skips reviewers marked unavailable or away now, and reports the role when nobody is left', () => {
    const away = { from: new Date(now.getTime() - 3_600_000).toISOString(), until: new Date(now.getTime() + 3_600_000).toISOString() };
    const experts = registry.map((e) => (e.id === 'security_human_b' ? { ...e, available: false } : e.id === 'security_human_a' ? { ...e, away } : e));
    const { assignments, unfilled } = plan(experts);
    expect(assignments.map((a) => a.expertId)).toEqual(['security_agent']);
    expect(unfilled).toEqual([{ role: 'standard', expertType: 'security', reason: expect.any(String) }]);
    const back = experts.map((e) => (e.id === 'security_human_a' ? { ...e, away: { from: away.from, until: now.toISOString() } } : e));
    expect(humanOf(back)).toBe('security_human_a');
  });

  it('on tier 2, a type whose strategic reviewers are all away gets any other strategic reviewer', () => {
    const experts = [
      ...registry.map((e) => (e.id === 'security_lead' ? { ...e, available: false } : e)),
      expert('principal_architect', 'architecture', 'human', { level: 'strategic' }),
    ];
    const strategic = plan(experts, undefined, 2).assignments.filter((a) => a.role === 'strategic');
    expect(strategic.map((a) => [a.expertId, a.scope])).toEqual([['principal_architect', ['strategic review of the whole change']]]);
  });

  it('hands a breached review to the best specialty match among those left', () => {
    const experts = [...registry, expert('security_human_c', 'security', 'human', { specialties: ['access_control'], openReviews: 4 })];
    const response = planBreachResponse({
      breached: { assignmentId: newId(), expertId: 'security_human_b', expertType: 'security', role: 'standard', tierLevel: 1 },
      priorBreachesForRequest: 0,
      experts,
      excludedExpertIds: ['security_agent', 'security_human_b'],
      requester: 'ci-bot',
      now,
      slaHours: policy.governance.sla_hours,
      newId,
      areas: ['access_control'],
    });
    expect(response.action !== 'escalate' && response.assignment.expertId).toBe('security_human_c');
  });
});

describe('planBreachResponse', () => {
  const breach = (role: 'standard' | 'oversight', tierLevel: 0 | 1 | 2, priorBreachesForRequest: number, excluded = ['security_agent', 'security_human_b'], experts = registry) =>
    planBreachResponse({
      breached: { assignmentId: newId(), expertId: 'security_human_b', expertType: 'security', role, tierLevel },
      priorBreachesForRequest,
      experts,
      excludedExpertIds: excluded,
      requester: 'ci-bot',
      now,
      slaHours: policy.governance.sla_hours,
      newId,
    });

  it('reassigns a first tier 1 breach to another expert of the same type and role', () => {
    const response = breach('standard', 1, 0);
    expect(response.action).toBe('reassign');
    expect(response.action !== 'escalate' && response.assignment.expertId).toBe('security_human_a');
  });

  it.each([
    ['a second breach', 1, 1],
    ['any breach on tier 2', 2, 0],
  ] as const)('sends %s to human oversight', (_name, tier, prior) => {
    const response = breach('standard', tier, prior);
    expect(response.action).toBe('oversight');
    expect(response.action !== 'escalate' && response.assignment).toMatchObject({ expertId: 'oversight_2', role: 'oversight' });
  });

  it('goes to oversight when no same-type expert is left, and escalates when no oversight is left either', () => {
    expect(breach('standard', 1, 0, ['security_agent', 'security_human_a', 'security_human_b']).action).toBe('oversight');
    const all = registry.map((e) => e.id);
    expect(breach('standard', 1, 0, all)).toEqual({ action: 'escalate', reason: expect.stringContaining('human_oversight') });
  });
});

describe('runBuiltinValidator', () => {
  const run = (request: DeploymentRequest) => runBuiltinValidator({ expert: { id: 'security_agent', expertType: 'security' }, request, risk: aRisk() });
  it.each<[string, DeploymentRequest, string, string]>([
    ['failing tests', requestWith({ testsPassed: false }), 'reject', 'failing tests'],
    ['critical vulnerabilities', requestWith({ vulnerabilities: { critical: 2 } }), 'reject', '2 critical vulnerabilities'],
    ['a leaked key', requestWith({}, { changes: ['config: AKIAABCDEFGHIJKLMNOP'] }), 'reject', 'AWS access key id'],
    ['a clean change', requestWith({ vulnerabilities: { low: 3 } }), 'approve', 'no critical vulnerabilities'],
  ])('%s', (_name, request, decision, text) => {
    const verdict = run(request);
    expect(verdict.decision).toBe(decision);
    expect(verdict.comments).toContain(text);
  });
});

describe('acceptReview', () => {
  const review = { assignmentId: 'a1', expertId: 'alice' };
  const request = { requester: 'bob' };
  const open = { expertId: 'alice', status: 'pending' as const };
  it.each<[string, Parameters<typeof acceptReview>[0], string | undefined]>([
    ['the assigned expert on a pending assignment', { review, request, assignment: open, decided: false }, undefined],
    ['the assigned expert after a breach, before reassignment', { review, request, assignment: { ...open, status: 'breached' }, decided: false }, undefined],
    ['an unknown request', { review, request: undefined, assignment: undefined, decided: false }, 'unknown-request'],
    ['an unknown assignment', { review, request, assignment: undefined, decided: false }, 'unknown-assignment'],
    ['another expert', { review: { ...review, expertId: 'mallory' }, request, assignment: open, decided: false }, 'not-assigned-expert'],
    ['the requester, even if assigned', { review, request: { requester: 'alice' }, assignment: open, decided: false }, 'separation-of-duties'],
    ['a second answer', { review, request, assignment: { ...open, status: 'completed' }, decided: false }, 'assignment-closed'],
    ['an answer after reassignment', { review, request, assignment: { ...open, status: 'reassigned' }, decided: false }, 'assignment-closed'],
    ['an answer after the decision', { review, request, assignment: open, decided: true }, 'already-decided'],
    ['a second answer after the decision', { review, request, assignment: { ...open, status: 'completed' }, decided: true }, 'already-decided'],
  ])('%s', (_name, input, code) => {
    const verdict = acceptReview(input);
    if (verdict.accepted) expect(code).toBeUndefined();
    else expect(verdict.refusal).toMatchObject({ code, reason: expect.stringMatching(/\w/) });
  });

  describe('by a verified principal', () => {
    const human = { kind: 'human' as const, runtime: 'builtin' as const, principal: ['alice@example.com'] };
    const scanner = { kind: 'automated' as const, runtime: 'external' as const, principal: ['svc-scanner'] };
    const reviewer = { subject: 'alice@example.com', roles: ['reviewer' as const] };
    const accepted = { review, request, assignment: open, decided: false, answerer: reviewer, expert: human };
    it.each<[string, Parameters<typeof acceptReview>[0], string | undefined, string | undefined]>([
      ['a reviewer bound to the expert', accepted, undefined, undefined],
      ['a principal bound to the expert through intake (roles checked there)', { ...accepted, answerer: { subject: 'alice@example.com' } }, undefined, undefined],
      ['a workload bound to an external automated expert, with the reviewer role', { ...accepted, answerer: { subject: 'svc-scanner', roles: ['reviewer'] }, expert: scanner }, undefined, undefined],
      ['a workload bound to an external automated expert, without a role', { ...accepted, answerer: { subject: 'svc-scanner', roles: [] }, expert: scanner }, 'forbidden', 'forbidden'],
      ['a reviewer bound to another expert', { ...accepted, answerer: { subject: 'mallory', roles: ['reviewer'] } }, 'forbidden', 'not-bound-to-expert'],
      ['an admin not bound to the expert', { ...accepted, answerer: { subject: 'root', roles: ['admin'] } }, 'forbidden', 'not-bound-to-expert'],
      ['a bound principal without the reviewer role', { ...accepted, answerer: { subject: 'alice@example.com', roles: ['admin'] } }, 'forbidden', 'forbidden'],
      ['anyone, for an expert the policy no longer has', { ...accepted, expert: undefined }, 'forbidden', 'not-bound-to-expert'],
      ['anyone, for a builtin validator (nobody is bound)', { ...accepted, expert: { kind: 'automated', runtime: 'builtin', principal: [] } }, 'forbidden', 'not-bound-to-expert'],
      // Before anything is looked up: an unbound principal learns nothing of the request.
      ['an unbound principal, for an unknown request', { ...accepted, request: undefined, answerer: { subject: 'mallory', roles: ['reviewer'] } }, 'forbidden', 'not-bound-to-expert'],
      ['the requester, bound to the assigned expert', { ...accepted, request: { requester: 'alice@example.com' } }, 'separation-of-duties', 'separation-of-duties'],
    ])('%s', (_name, input, code, security) => {
      const verdict = acceptReview(input);
      if (verdict.accepted) expect(code).toBeUndefined();
      else expect(verdict.refusal).toEqual({ code, reason: expect.stringMatching(/\w/), ...(security ? { security } : {}) });
    });
  });
});

describe('calculateConfidence', () => {
  const base = { riskScore: 0.5, expectedReviews: 2, historicalAccuracy: 0.6, dataQuality: 0.9 };
  it('follows the PRD formula and publishes its basis', () => {
    const c = calculateConfidence({ ...base, reviews: [{ decision: 'approve', confidence: 0.9 }, { decision: 'conditional', confidence: 0.8 }] });
    // consensus 1, base (1 + 0.6 + 0.9) / 3 = 0.8333, risk adj 0.9, completeness 1
    expect(c.score).toBeCloseTo(0.75, 3);
    expect(c.level).toBe('high');
    expect(c.calculationBasis).toMatchObject({ expertConsensus: 1, riskAdjustment: 0.9, completenessAdjustment: 1, expertCount: 2, riskLevel: 0.5 });
  });

  it.each([
    ['split reviews lower it', [{ decision: 'approve' as const, confidence: 0.9 }, { decision: 'reject' as const, confidence: 0.9 }], 0.6],
    ['missing reviews lower it', [{ decision: 'approve' as const, confidence: 0.9 }], 0.5],
  ])('%s', (_name, reviews, below) => {
    expect(calculateConfidence({ ...base, reviews }).score).toBeLessThan(below + 0.1);
    expect(calculateConfidence({ ...base, reviews }).score).toBeLessThan(calculateConfidence({ ...base, reviews: [reviews[0]!, reviews[0]!] }).score);
  });
});

describe('decide', () => {
  const assignment = (expertId: string, decision: AssignmentState['decision'], extra: Partial<AssignmentState> = {}): AssignmentState => ({
    assignmentId: newId(),
    expertId,
    expertType: 'security',
    expertKind: 'human',
    role: 'standard',
    status: decision ? 'completed' : 'pending',
    decision,
    comments: decision ? `${decision} comment` : null,
    conditions: decision === 'conditional' ? ['canary to 5% first'] : [],
    confidence: decision ? 0.9 : null,
    completedAt: decision ? now.toISOString() : null,
    ...extra,
  });
  const run = (assignments: AssignmentState[], extra: Partial<Parameters<typeof decide>[0]> = {}) => {
    const completed = assignments.filter((a) => a.status === 'completed');
    const confidence = calculateConfidence({
      riskScore: 0.4,
      reviews: completed.map((a) => ({ decision: a.decision!, confidence: a.confidence! })),
      expectedReviews: assignments.length,
      historicalAccuracy: 0.7,
      dataQuality: 0.8,
    });
    return decide({
      request: requestWith({ securitySensitive: true }, { metadata: { previousVersion: '1.4.1' } }),
      risk: aRisk({ overallScore: 0.4, securityScore: 0.6 }),
      tier: 1,
      triggers: [{ condition: 'SECURITY_CHANGE', reason: 'marked security-sensitive' }],
      assignments,
      compliance: { required: false },
      confidence,
      minConfidence: 0.35,
      now,
      ...extra,
    });
  };

  it('all approve → PROCEED_WITH_MONITORING with monitoring and a generated rollback plan', () => {
    const d = run([assignment('a', 'approve'), assignment('b', 'approve')]);
    expect(d).toMatchObject({ outcome: 'PROCEED_WITH_MONITORING', approved: true, conditions: [] });
    expect(d.monitoringRequirements.map((m) => m.metric)).toEqual(expect.arrayContaining(['http_error_rate', 'auth_failure_rate']));
    expect(d.rollbackPlan).toMatchObject({ source: 'generated', previousVersion: '1.4.1' });
    expect(d.decisionRationale).toContain('SECURITY_CHANGE');
  });

  it('conditional approvals → PROCEED_WITH_MONITORING with the conditions', () => {
    const d = run([assignment('a', 'approve'), assignment('b', 'conditional')]);
    expect(d).toMatchObject({ outcome: 'PROCEED_WITH_MONITORING', conditions: ['canary to 5% first'] });
  });

  it("any reject → BLOCK_WITH_FEEDBACK with every reviewer's feedback", () => {
    const d = run([assignment('a', 'approve'), assignment('b', 'reject')]);
    expect(d).toMatchObject({ outcome: 'BLOCK_WITH_FEEDBACK', approved: false, rollbackPlan: null, conditions: ['b: reject comment'] });
    expect(d.decisionRationale).toContain('a (security) approved: approve comment');
  });

  it('low confidence → ESCALATE_TO_HUMAN', () => {
    expect(run([assignment('a', 'approve')], { minConfidence: 0.99 }).outcome).toBe('ESCALATE_TO_HUMAN');
  });

  it('forced escalation → ESCALATE_TO_HUMAN with the reason', () => {
    const d = run([assignment('a', 'approve')], { forcedEscalation: 'SLA breached and no oversight left' });
    expect(d.outcome).toBe('ESCALATE_TO_HUMAN');
    expect(d.decisionRationale).toContain('SLA breached');
  });

  it('failed compliance → BLOCK_WITH_FEEDBACK naming the control', () => {
    const approve = assignment('a', 'approve');
    const evaluation: ComplianceEvaluated = {
      requestId: newId(),
      projectId: 'payments-api',
      passed: false,
      pending: false,
      controls: [{ framework: 'GDPR', control: 'Art.32', status: 'fail', reason: 'no compliance reviewer approved' }],
      basedOnAssignments: [approve.assignmentId],
      evaluatedAt: now.toISOString(),
    };
    const d = run([approve], { compliance: { required: true, evaluation } });
    expect(d.outcome).toBe('BLOCK_WITH_FEEDBACK');
    expect(d.conditions).toEqual(['GDPR Art.32: no compliance reviewer approved']);
  });

  it('uses the pipeline rollback plan when it gives one', () => {
    const d = decide({
      ...{ risk: aRisk(), tier: 0, triggers: [], compliance: { required: false }, minConfidence: 0, now },
      request: requestWith({}, { metadata: { rollback: { steps: ['helm rollback checkout 41'], previousVersion: '1.4.1' } } }),
      assignments: [assignment('a', 'approve')],
      confidence: calculateConfidence({ riskScore: 0.2, reviews: [], expectedReviews: 0, historicalAccuracy: 0.5, dataQuality: 0.5 }),
    });
    expect(d.rollbackPlan).toMatchObject({ source: 'pipeline', steps: ['helm rollback checkout 41'] });
  });

  it('without governance → PROCEED_STANDARD', () => {
    const d = decideWithoutGovernance({ request: requestWith({}), risk: aRisk(), now });
    expect(d).toMatchObject({ outcome: 'PROCEED_STANDARD', approved: true, tierLevel: 0, triggers: [] });
    expect(d.decisionRationale).toContain('No trigger condition fired');
  });

  describe('isReadyToDecide', () => {
    const evaluationFor = (seen: AssignmentState[], extra: Partial<ComplianceEvaluated> = {}): ComplianceEvaluated => ({
      requestId: newId(),
      projectId: 'p',
      passed: true,
      pending: false,
      controls: [],
      basedOnAssignments: seen.map((a) => a.assignmentId),
      evaluatedAt: now.toISOString(),
      ...extra,
    });
    const a = assignment('a', 'approve');
    const b = assignment('b', 'approve');
    it.each<[string, AssignmentState[], Parameters<typeof isReadyToDecide>[1], boolean]>([
      ['a review is pending', [a, assignment('c', null)], { required: false }, false],
      ['all answered', [a, b], { required: false }, true],
      ['a reject decides at once', [assignment('r', 'reject'), assignment('c', null)], { required: false }, true],
      ['compliance required, no evaluation', [a, b], { required: true }, false],
      ['compliance evaluation missed a review', [a, b], { required: true, evaluation: evaluationFor([a]) }, false],
      ['compliance evaluation still pending', [a, b], { required: true, evaluation: evaluationFor([a, b], { pending: true }) }, false],
      ['compliance evaluation saw everything', [a, b], { required: true, evaluation: evaluationFor([a, b]) }, true],
    ])('%s', (_name, assignments, compliance, ready) => {
      expect(isReadyToDecide(assignments, compliance)).toBe(ready);
    });
  });
});
