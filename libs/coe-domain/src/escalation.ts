import type { Actor, EscalationReason, ExpertType, FiredTrigger, TierLevel } from '@agf/contracts';
import type { UnfilledRole } from './assignment';
import { calculateConfidence } from './confidence';
import { type ComplianceState, decide, type DecisionDraft, toExpertReview } from './decision';
import { monitoringRequirementsFor, rollbackPlanFor } from './monitoring';
import type { AssignmentRole, AssignmentState, DeploymentRequest, ExpertCandidate, PlannedAssignment, RiskView } from './types';

/**
 * What an assignment is for: a `review` the tier asked for, an `escalation` (its answer is the decision), or
 * the mandatory review `after-the-fact` of a break-glass approval (answered after the decision).
 */
export type AssignmentPurpose = 'review' | 'escalation' | 'after-the-fact';

/** An assignment as the escalation logic reads it. */
export interface GovernedAssignment extends AssignmentState {
  purpose: AssignmentPurpose;
  /** For an escalation assignment: the chain step and why the request went there. */
  escalation: { level: number; reason: EscalationReason } | null;
  assignedAt: string;
  /** Who answered, verified (absent for a built-in validator). */
  actor?: Actor | null;
}

export interface EscalationSettings {
  /** The expert types a request escalates to, first step first. */
  chain: readonly ExpertType[];
}

export interface NextStepInput {
  request: DeploymentRequest;
  risk: RiskView;
  tier: TierLevel;
  triggers: FiredTrigger[];
  assignments: GovernedAssignment[];
  /** Roles the tier asked for that nobody (nor any fallback type) could take. */
  unfilled: UnfilledRole[];
  compliance: ComplianceState;
  minConfidence: number;
  escalation: EscalationSettings;
  /** A reason stored by an earlier AGF version that decided ESCALATE_TO_HUMAN at once: now an escalation. */
  legacyForcedEscalation?: string | null;
  now: Date;
}

export type NextStep =
  | { kind: 'wait'; why: string }
  | { kind: 'decide'; decision: DecisionDraft }
  | { kind: 'escalate'; reason: EscalationReason; level: number; expertType: ExpertType; detail: string };

const isLive = (a: GovernedAssignment) => a.status !== 'reassigned' && a.status !== 'cancelled';

/**
 * What a request needs now. An escalation's answer decides it; while an escalation is open nothing else does.
 * Otherwise a reject decides at once; a pending review is waited for; once every review that can happen has
 * happened or run out of time, a missing expert, a breached review or a confidence below the minimum sends
 * the request to the escalation chain, and only a complete set of answers (with compliance settled, where
 * required) decides it.
 */
export function nextStep(input: NextStepInput): NextStep {
  const { assignments, escalation } = input;
  const top = escalation.chain.length;
  const escalate = (reason: EscalationReason, level: number, detail: string): NextStep => ({
    kind: 'escalate',
    reason,
    level: Math.min(Math.max(1, level), top),
    expertType: escalation.chain[Math.min(Math.max(1, level), top) - 1]!,
    detail,
  });

  const escalations = assignments.filter((a) => a.purpose === 'escalation' && isLive(a));
  const answered = escalations.find((a) => a.status === 'completed');
  if (answered) return { kind: 'decide', decision: decideByEscalation(input, answered) };
  if (escalations.some((a) => a.status === 'pending')) return { kind: 'wait', why: 'an escalation waits for its answer' };
  const breachedStep = escalations.filter((a) => a.status === 'breached').at(-1);
  if (breachedStep) {
    const level = breachedStep.escalation?.level ?? 1;
    return escalate('sla-breached', level + 1, `${breachedStep.expertId} (${breachedStep.expertType}, escalation level ${level}) did not decide within the SLA`);
  }

  const reviews = assignments.filter((a) => a.purpose === 'review');
  const completed = reviews.filter((a) => a.status === 'completed');
  const decideNow = (confidenceReviews = completed) => decide(decisionInput(input, reviews, confidenceReviews));
  if (completed.some((a) => a.decision === 'reject')) return { kind: 'decide', decision: decideNow() };
  if (reviews.some((a) => a.status === 'pending')) return { kind: 'wait', why: 'reviews are pending' };

  if (input.unfilled.length) {
    return escalate('missing-expert', 1, `no eligible expert for ${input.unfilled.map((u) => `${u.role} ${u.expertType} (${u.reason})`).join('; ')}`);
  }
  if (input.legacyForcedEscalation) return escalate('sla-breached', 1, input.legacyForcedEscalation);
  const breached = reviews.filter((a) => a.status === 'breached');
  if (breached.length) return escalate('sla-breached', 1, `no answer within the SLA from ${breached.map((a) => `${a.expertId} (${a.expertType})`).join(', ')}`);
  if (!completed.length) return escalate('missing-expert', 1, 'no review could be assigned');

  if (input.compliance.required && !complianceSettled(completed, input.compliance)) return { kind: 'wait', why: 'waiting for the compliance evaluation of every review' };
  const decision = decideNow();
  if (decision.outcome === 'ESCALATE_TO_HUMAN') {
    return escalate('low-confidence', 1, `confidence ${decision.confidenceScore.toFixed(2)} is below the minimum ${input.minConfidence}`);
  }
  return { kind: 'decide', decision };
}

function complianceSettled(completed: AssignmentState[], compliance: ComplianceState): boolean {
  const evaluation = compliance.evaluation;
  if (!evaluation || evaluation.pending) return false;
  const seen = new Set(evaluation.basedOnAssignments);
  return completed.every((a) => seen.has(a.assignmentId));
}

function decisionInput(input: NextStepInput, reviews: GovernedAssignment[], completed: GovernedAssignment[]) {
  const expectedReviews = reviews.filter(isLive).length + input.unfilled.length;
  const confidence = calculateConfidence({
    riskScore: input.risk.overallScore,
    reviews: completed.map((r) => ({ decision: r.decision!, confidence: r.confidence ?? 0.5 })),
    expectedReviews,
    historicalAccuracy: input.risk.analyzers.historical.confidence,
    dataQuality: input.risk.confidence,
  });
  return {
    request: input.request,
    risk: input.risk,
    tier: input.tier,
    triggers: input.triggers,
    assignments: input.assignments,
    compliance: input.compliance,
    confidence,
    minConfidence: input.minConfidence,
    now: input.now,
  };
}

/**
 * The escalation assignee's answer is the decision: approve proceeds (standard), approve with conditions
 * proceeds with monitoring and those conditions, reject blocks with the justification as the feedback.
 */
export function decideByEscalation(input: NextStepInput, answered: GovernedAssignment): DecisionDraft {
  const { request, risk, tier, assignments } = input;
  const completed = assignments.filter((a) => a.status === 'completed' && a.purpose !== 'after-the-fact');
  const base = decide({ ...decisionInput(input, assignments.filter((a) => a.purpose === 'review'), completed), assignments });
  const justification = answered.comments ?? '';
  const level = answered.escalation?.level ?? 1;
  const who = `${answered.actor?.subject ?? answered.expertId} for ${answered.expertId} (${answered.expertType}, escalation level ${level}, ${answered.escalation?.reason ?? 'escalated'})`;
  const common = {
    ...base,
    expertReviews: assignments.map(toExpertReview),
    escalation: {
      reason: answered.escalation?.reason ?? 'sla-breached',
      level,
      escalatedAt: answered.assignedAt,
      resolvedByAssignmentId: answered.assignmentId,
      resolvedByExpertId: answered.expertId,
      ...(answered.actor ? { resolvedBy: answered.actor } : {}),
      justification,
    },
  };
  const context = `Tier ${tier} review of ${request.componentName} ${request.version} (risk ${risk.overallScore.toFixed(2)}).`;
  if (answered.decision === 'reject') {
    return {
      ...common,
      outcome: 'BLOCK_WITH_FEEDBACK',
      approved: false,
      conditions: [`${answered.expertId}: ${justification || 'rejected'}`],
      monitoringRequirements: [],
      rollbackPlan: null,
      decisionRationale: `Blocked on escalation by ${who}: ${justification} ${context}`,
    };
  }
  const monitoringRequirements = monitoringRequirementsFor(request, risk);
  const conditional = answered.decision === 'conditional';
  return {
    ...common,
    outcome: conditional ? 'PROCEED_WITH_MONITORING' : 'PROCEED_STANDARD',
    approved: true,
    conditions: conditional ? answered.conditions : [],
    monitoringRequirements,
    rollbackPlan: rollbackPlanFor(request, tier, monitoringRequirements),
    decisionRationale: `Approved${conditional ? ` with ${answered.conditions.length} condition(s)` : ''} on escalation by ${who}: ${justification} ${context}`,
  };
}

export interface PickInput {
  experts: ExpertCandidate[];
  requester: string;
  /** Experts to avoid where someone else can be found (already on the request, or the one who just failed). */
  avoid: readonly string[];
}

/** Whether the expert is the requester, by id or as a subject bound to answer for it. */
function isRequester(e: ExpertCandidate, requester: string): boolean {
  return e.id === requester || e.principal.includes(requester);
}

/**
 * The person to give an escalation to: a human of the type, never the requester; someone not to avoid and
 * with free capacity first, then the least loaded. An escalation is never left without a person because of
 * capacity: a full one still gets it.
 */
export function pickPerson(input: PickInput & { expertType: ExpertType; allowAvoided: boolean }): ExpertCandidate | undefined {
  const avoided = new Set(input.avoid);
  const candidates = input.experts.filter(
    (e) => e.type === 'human' && e.expertType === input.expertType && !isRequester(e, input.requester) && (input.allowAvoided || !avoided.has(e.id)),
  );
  const rank = (e: ExpertCandidate) => [avoided.has(e.id) ? 1 : 0, e.openReviews < e.capacity ? 0 : 1, e.openReviews / e.capacity] as const;
  candidates.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.id.localeCompare(b.id);
  });
  return candidates[0];
}

export interface EscalationPlanInput extends PickInput {
  chain: readonly ExpertType[];
  /** The step the request goes to (1 = the chain's first). */
  level: number;
  reason: EscalationReason;
  detail: string;
  tier: TierLevel;
  slaHours: number;
  now: Date;
  newId: () => string;
}

export interface EscalationPlan {
  level: number;
  expertType: ExpertType;
  assignment: PlannedAssignment;
}

/**
 * Who the escalation goes to: a person of the step's type; a step with nobody is passed upwards, and the top
 * step (or, with nobody there, the highest step below it that has someone) takes it with another person if
 * there is one, else the same again. Undefined only when no step of the chain has a human at all.
 */
export function planEscalation(input: EscalationPlanInput): EscalationPlan | undefined {
  const top = input.chain.length;
  const start = Math.min(Math.max(1, input.level), top);
  const levels = [...range(start, top), ...range(top - 1, 1).filter((l) => l < start)];
  for (const level of levels) {
    const expertType = input.chain[level - 1]!;
    const person = pickPerson({ ...input, expertType, allowAvoided: false }) ?? pickPerson({ ...input, expertType, allowAvoided: true });
    if (!person) continue;
    return {
      level,
      expertType,
      assignment: {
        assignmentId: input.newId(),
        expertId: person.id,
        expertType,
        expertKind: 'human',
        runtime: person.runtime,
        role: 'oversight',
        scope: [`decide the request (escalation level ${level}, ${input.reason}): ${input.detail}`],
        tierLevel: input.tier,
        priority: 'critical',
        slaHours: input.slaHours,
        assignedAt: input.now,
        slaDueAt: new Date(input.now.getTime() + input.slaHours * 3_600_000),
      },
    };
  }
  return undefined;
}

function range(from: number, to: number): number[] {
  const step = from <= to ? 1 : -1;
  const out: number[] = [];
  for (let i = from; step > 0 ? i <= to : i >= to; i += step) out.push(i);
  return out;
}

export interface FallbackInput extends PickInput {
  unfilled: UnfilledRole[];
  fallback: Partial<Record<ExpertType, ExpertType[]>>;
  tier: TierLevel;
  slaHours: number;
  now: Date;
  newId: () => string;
}

/** Whether an expert can fill a role: automated for a validator, a human of the level otherwise. */
function fillsRole(e: ExpertCandidate, role: AssignmentRole): boolean {
  if (role === 'validator') return e.type === 'automated';
  if (role === 'oversight') return e.type === 'human';
  return e.type === 'human' && e.level === role;
}

/**
 * Roles nobody of the asked type could take go to the configured fallback types, in order: the first with an
 * eligible expert (free capacity, not the requester, not already on the request) takes it. What stays
 * unfilled escalates once the other reviews are in.
 */
export function planFallbacks(input: FallbackInput): { assignments: PlannedAssignment[]; unfilled: UnfilledRole[] } {
  const taken = new Set(input.avoid);
  const assignments: PlannedAssignment[] = [];
  const unfilled: UnfilledRole[] = [];
  for (const role of input.unfilled) {
    let placed = false;
    for (const type of input.fallback[role.expertType] ?? []) {
      const expert = input.experts
        .filter((e) => e.expertType === type && fillsRole(e, role.role) && !isRequester(e, input.requester) && !taken.has(e.id) && e.openReviews < e.capacity)
        .sort((a, b) => a.openReviews / a.capacity - b.openReviews / b.capacity || a.id.localeCompare(b.id))[0];
      if (!expert) continue;
      taken.add(expert.id);
      assignments.push({
        assignmentId: input.newId(),
        expertId: expert.id,
        expertType: expert.expertType,
        expertKind: expert.type,
        runtime: expert.runtime,
        role: role.role,
        scope: [`in place of a ${role.expertType} reviewer (${role.reason})`],
        tierLevel: input.tier,
        priority: input.tier === 2 ? 'high' : 'normal',
        slaHours: input.slaHours,
        assignedAt: input.now,
        slaDueAt: new Date(input.now.getTime() + input.slaHours * 3_600_000),
      });
      placed = true;
      break;
    }
    if (!placed) unfilled.push(role);
  }
  return { assignments, unfilled };
}

/** The after-the-fact review of a break-glass approval: a human_oversight person other than the requester and the one who broke the glass. */
export function planAfterTheFactReview(input: PickInput & { breakGlassSubject: string; tier: TierLevel; slaHours: number; now: Date; newId: () => string }): PlannedAssignment | undefined {
  const person = pickPerson({ ...input, avoid: [], expertType: 'human_oversight', allowAvoided: true, experts: input.experts.filter((e) => e.id !== input.breakGlassSubject && !e.principal.includes(input.breakGlassSubject)) });
  if (!person) return undefined;
  return {
    assignmentId: input.newId(),
    expertId: person.id,
    expertType: 'human_oversight',
    expertKind: 'human',
    runtime: person.runtime,
    role: 'oversight',
    scope: ['after-the-fact review of an emergency (break-glass) approval'],
    tierLevel: input.tier,
    priority: 'critical',
    slaHours: input.slaHours,
    assignedAt: input.now,
    slaDueAt: new Date(input.now.getTime() + input.slaHours * 3_600_000),
  };
}

/** A break-glass approval: proceeds at once as an emergency change, reviewed after the fact. */
export function decideEmergency(input: {
  request: DeploymentRequest;
  risk: RiskView;
  tier: TierLevel;
  triggers: FiredTrigger[];
  assignments: AssignmentState[];
  justification: string;
  approvedBy: Actor;
  afterTheFactReview: PlannedAssignment | undefined;
  now: Date;
}): DecisionDraft {
  const { request, risk, tier } = input;
  const confidence = calculateConfidence({
    riskScore: risk.overallScore,
    reviews: [],
    expectedReviews: 0,
    historicalAccuracy: risk.analyzers.historical.confidence,
    dataQuality: risk.confidence,
  });
  const monitoringRequirements = monitoringRequirementsFor(request, risk);
  const review = input.afterTheFactReview;
  return {
    componentName: request.componentName,
    version: request.version,
    outcome: 'PROCEED_STANDARD',
    approved: true,
    tierLevel: tier,
    triggers: input.triggers,
    riskScore: risk.overallScore,
    confidenceScore: confidence.score,
    confidence,
    conditions: [],
    monitoringRequirements,
    rollbackPlan: rollbackPlanFor(request, tier, monitoringRequirements),
    decisionRationale:
      `Emergency change (break-glass) approved by ${input.approvedBy.subject} without waiting for review: ${input.justification}. ` +
      (review ? `After-the-fact review by ${review.expertId} due ${review.slaDueAt.toISOString()}.` : 'No human_oversight expert can review it after the fact: configure one.'),
    expertReviews: input.assignments.map(toExpertReview),
    decidedAt: input.now.toISOString(),
    emergency: {
      justification: input.justification,
      approvedBy: input.approvedBy,
      afterTheFactReview: review ? { assignmentId: review.assignmentId, expertId: review.expertId, slaDueAt: review.slaDueAt.toISOString() } : null,
    },
  };
}

/** Start-up check: the escalation chain must have a human to decide, or escalations end in ESCALATE_TO_HUMAN. */
export function escalationChainProblems(chain: readonly ExpertType[], experts: ReadonlyArray<{ expertType: ExpertType; type: 'automated' | 'human' }>): string[] {
  const withHumans = chain.filter((type) => experts.some((e) => e.expertType === type && e.type === 'human'));
  if (withHumans.length) return [];
  return [`no step of the escalation chain (${chain.join(', ')}) has a human expert: an escalated request can only end ESCALATE_TO_HUMAN`];
}
