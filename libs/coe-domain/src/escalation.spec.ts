import { aDeploymentRequest } from '@agf/contracts/testing';
import type { AnalyzerResult, FiredTrigger } from '@agf/contracts';
import {
  decideEmergency,
  escalationChainProblems,
  type ExpertCandidate,
  type GovernedAssignment,
  type NextStepInput,
  nextStep,
  planAfterTheFactReview,
  planEscalation,
  planFallbacks,
  type RiskView,
} from './index';

const analyzer = (score: number): AnalyzerResult => ({ score, confidence: 0.8, factors: [], mitigations: [] });
const risk: RiskView = {
  requestId: '00000000-0000-4000-8000-000000000001',
  projectId: 'payments-api',
  overallScore: 0.5,
  securityScore: 0.6,
  complexityScore: 0.1,
  impactScore: 0.1,
  historicalScore: 0.3,
  confidence: 0.8,
  riskFactors: [],
  mitigationSuggestions: [],
  analyzers: { security: analyzer(0.6), complexity: analyzer(0.1), impact: analyzer(0.1), historical: analyzer(0.3) },
  weights: { security: 0.35, complexity: 0.2, impact: 0.25, historical: 0.2 },
  revision: 1,
  assessedAt: new Date(0).toISOString(),
};
const request = aDeploymentRequest({ requester: 'dev-dana', changes: ['src/auth/login.ts'], riskIndicators: { testsPassed: true, securitySensitive: true } });
const triggers: FiredTrigger[] = [{ condition: 'SECURITY_CHANGE', reason: 'security-sensitive change' }];
let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;

function an(overrides: Partial<GovernedAssignment>): GovernedAssignment {
  return {
    assignmentId: newId(),
    expertId: 'security_expert_human',
    expertType: 'security',
    expertKind: 'human',
    role: 'standard',
    status: 'pending',
    decision: null,
    comments: null,
    conditions: [],
    confidence: null,
    completedAt: null,
    purpose: 'review',
    escalation: null,
    assignedAt: new Date(0).toISOString(),
    ...overrides,
  };
}
const approved = (o: Partial<GovernedAssignment> = {}) => an({ status: 'completed', decision: 'approve', comments: 'fine', confidence: 0.9, completedAt: new Date(1).toISOString(), ...o });

function state(assignments: GovernedAssignment[], extra: Partial<NextStepInput> = {}): NextStepInput {
  return {
    request,
    risk,
    tier: 1,
    triggers,
    assignments,
    unfilled: [],
    compliance: { required: false },
    minConfidence: 0.35,
    escalation: { chain: ['human_oversight', 'architecture'] },
    now: new Date(2),
    ...extra,
  };
}

const expert = (id: string, o: Partial<ExpertCandidate> = {}): ExpertCandidate => ({
  id,
  type: 'human',
  expertType: 'human_oversight',
  level: 'strategic',
  runtime: 'builtin',
  specialties: [],
  capacity: 5,
  openReviews: 0,
  principal: [id],
  ...o,
});

describe('nextStep', () => {
  it('waits while a review is pending, even with an expert type nobody can take', () => {
    const step = nextStep(state([approved({ expertKind: 'automated', role: 'validator' }), an({})], { unfilled: [{ role: 'standard', expertType: 'performance', reason: 'nobody' }] }));
    expect(step.kind).toBe('wait');
  });

  it('escalates a missing expert type to the first step of the chain once the other reviews are in', () => {
    const step = nextStep(state([approved()], { unfilled: [{ role: 'standard', expertType: 'performance', reason: 'nobody' }] }));
    expect(step).toMatchObject({ kind: 'escalate', reason: 'missing-expert', level: 1, expertType: 'human_oversight' });
  });

  it('still decides at once on a reject', () => {
    const step = nextStep(state([approved({ decision: 'reject', comments: 'no' }), an({ expertId: 'other' })], { unfilled: [{ role: 'standard', expertType: 'performance', reason: 'nobody' }] }));
    expect(step).toMatchObject({ kind: 'decide', decision: { outcome: 'BLOCK_WITH_FEEDBACK' } });
  });

  it('escalates a review whose SLA ran out, instead of deciding', () => {
    const step = nextStep(state([approved({ expertKind: 'automated', role: 'validator' }), an({ status: 'breached' })]));
    expect(step).toMatchObject({ kind: 'escalate', reason: 'sla-breached', level: 1 });
  });

  it('escalates a low confidence instead of deciding ESCALATE_TO_HUMAN', () => {
    const step = nextStep(state([approved({ confidence: 0.1 }), approved({ decision: 'reject', status: 'reassigned' })], { minConfidence: 0.99 }));
    expect(step).toMatchObject({ kind: 'escalate', reason: 'low-confidence' });
  });

  it('decides when every review is in and confident, and waits for compliance where required', () => {
    expect(nextStep(state([approved()]))).toMatchObject({ kind: 'decide', decision: { outcome: 'PROCEED_WITH_MONITORING', approved: true } });
    expect(nextStep(state([approved()], { compliance: { required: true } })).kind).toBe('wait');
  });

  it('waits for an open escalation whatever the reviews say, and takes its answer as the decision', () => {
    const escalation = an({ purpose: 'escalation', expertId: 'oversight_board_1', expertType: 'human_oversight', role: 'oversight', escalation: { level: 1, reason: 'sla-breached' } });
    expect(nextStep(state([an({ status: 'breached' }), escalation])).kind).toBe('wait');
    const answered = { ...escalation, status: 'completed' as const, decision: 'conditional' as const, comments: 'ship it behind a flag', conditions: ['feature flag'], actor: { subject: 'olivia', channel: 'http' as const } };
    const step = nextStep(state([an({ status: 'breached' }), answered]));
    expect(step).toMatchObject({
      kind: 'decide',
      decision: {
        outcome: 'PROCEED_WITH_MONITORING',
        approved: true,
        conditions: ['feature flag'],
        escalation: { reason: 'sla-breached', level: 1, resolvedByAssignmentId: escalation.assignmentId, resolvedByExpertId: 'oversight_board_1', resolvedBy: { subject: 'olivia' }, justification: 'ship it behind a flag' },
      },
    });
    const rejected = nextStep(state([{ ...answered, decision: 'reject', comments: 'too risky', conditions: [] }]));
    expect(rejected).toMatchObject({ kind: 'decide', decision: { outcome: 'BLOCK_WITH_FEEDBACK', approved: false } });
    const plain = nextStep(state([{ ...answered, decision: 'approve', conditions: [] }]));
    expect(plain).toMatchObject({ kind: 'decide', decision: { outcome: 'PROCEED_STANDARD', approved: true } });
  });

  it('moves a breached escalation one step up the chain, and keeps the top as the top', () => {
    const breachedAt = (level: number) => an({ purpose: 'escalation', status: 'breached', expertType: 'human_oversight', role: 'oversight', escalation: { level, reason: 'missing-expert' } });
    expect(nextStep(state([breachedAt(1)]))).toMatchObject({ kind: 'escalate', reason: 'sla-breached', level: 2, expertType: 'architecture' });
    expect(nextStep(state([breachedAt(2)]))).toMatchObject({ kind: 'escalate', level: 2, expertType: 'architecture' });
  });
});

describe('escalation planning', () => {
  const base = { requester: 'dev-dana', reason: 'sla-breached' as const, detail: 'x', tier: 1 as const, slaHours: 2, now: new Date(0), newId };

  it('assigns a person of the step type, never the requester, preferring one with free capacity', () => {
    const experts = [expert('board_full', { openReviews: 5 }), expert('board_free'), expert('dana_bound', { principal: ['dev-dana'] })];
    const plan = planEscalation({ ...base, experts, avoid: [], chain: ['human_oversight'], level: 1 });
    expect(plan).toMatchObject({ level: 1, expertType: 'human_oversight', assignment: { expertId: 'board_free', role: 'oversight', priority: 'critical', slaHours: 2 } });
    expect(plan!.assignment.slaDueAt.getTime()).toBe(2 * 3_600_000);
  });

  it('passes a step with nobody upwards; at the top takes another person, else the same again', () => {
    const experts = [expert('board_1'), expert('board_2')];
    expect(planEscalation({ ...base, experts, avoid: [], chain: ['performance', 'human_oversight'], level: 1 })).toMatchObject({ level: 2 });
    expect(planEscalation({ ...base, experts, avoid: ['board_1'], chain: ['human_oversight'], level: 2 })!.assignment.expertId).toBe('board_2');
    expect(planEscalation({ ...base, experts: [expert('board_1')], avoid: ['board_1'], chain: ['human_oversight'], level: 1 })!.assignment.expertId).toBe('board_1');
    // The top has nobody: the highest step below it that has someone.
    expect(planEscalation({ ...base, experts, avoid: [], chain: ['human_oversight', 'performance'], level: 2 })).toMatchObject({ level: 1 });
    expect(planEscalation({ ...base, experts: [expert('bot', { type: 'automated' })], avoid: [], chain: ['human_oversight'], level: 1 })).toBeUndefined();
  });

  it('fills a missing expert type from the configured fallback types, in order', () => {
    const experts = [expert('arch_human', { expertType: 'architecture', level: 'standard' }), expert('arch_bot', { expertType: 'architecture', type: 'automated' })];
    const plan = planFallbacks({
      ...base,
      experts,
      avoid: [],
      fallback: { performance: ['compliance', 'architecture'] },
      unfilled: [
        { role: 'standard', expertType: 'performance', reason: 'nobody' },
        { role: 'validator', expertType: 'performance', reason: 'nobody' },
        { role: 'standard', expertType: 'compliance', reason: 'nobody' },
      ],
    });
    expect(plan.assignments.map((a) => [a.role, a.expertId, a.expertType])).toEqual([
      ['standard', 'arch_human', 'architecture'],
      ['validator', 'arch_bot', 'architecture'],
    ]);
    expect(plan.unfilled).toEqual([{ role: 'standard', expertType: 'compliance', reason: 'nobody' }]);
  });

  it('warns at start-up when no step of the chain has a human', () => {
    expect(escalationChainProblems(['human_oversight'], [{ expertType: 'human_oversight', type: 'human' }])).toEqual([]);
    expect(escalationChainProblems(['human_oversight'], [{ expertType: 'security', type: 'human' }])).toHaveLength(1);
  });
});

describe('break-glass', () => {
  it('approves at once as an emergency change, with an after-the-fact review by oversight other than who broke the glass', () => {
    const experts = [expert('board_1', { principal: ['olivia'] }), expert('board_2')];
    const review = planAfterTheFactReview({ experts, requester: 'dev-dana', avoid: [], breakGlassSubject: 'olivia', tier: 1, slaHours: 24, now: new Date(0), newId });
    expect(review).toMatchObject({ expertId: 'board_2', role: 'oversight', slaHours: 24 });
    const decision = decideEmergency({ request, risk, tier: 1, triggers, assignments: [], justification: 'prod is down', approvedBy: { subject: 'olivia', channel: 'http' }, afterTheFactReview: review, now: new Date(0) });
    expect(decision).toMatchObject({
      outcome: 'PROCEED_STANDARD',
      approved: true,
      emergency: { justification: 'prod is down', approvedBy: { subject: 'olivia' }, afterTheFactReview: { assignmentId: review!.assignmentId, expertId: 'board_2' } },
    });
    expect(decision.decisionRationale).toMatch(/Emergency change/);
  });
});
