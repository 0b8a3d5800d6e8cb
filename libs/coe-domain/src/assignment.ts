import type { DeploymentRequest, ExpertType, FiredTrigger, TierLevel } from '@agf/contracts';
import { fitsRole, isAvailableAt, pickExpert, requestAreas, type ReviewNeed } from './routing';
import type { AssignmentRole, ExpertCandidate, PlannedAssignment, Priority, RiskView, SlaHours } from './types';

/** The reviewer types a request calls for, each with the scope of what to look at. */
export function reviewFocus(request: DeploymentRequest, risk: RiskView, triggers: FiredTrigger[]): Map<ExpertType, string[]> {
  const focus = new Map<ExpertType, string[]>();
  const add = (type: ExpertType, items: string[]) => focus.set(type, [...(focus.get(type) ?? []), ...items]);
  const fired = new Map(triggers.map((t) => [t.condition, t.reason]));
  const { security, complexity, impact } = risk.analyzers;

  if (fired.has('SECURITY_CHANGE') || risk.securityScore >= 0.4) add('security', security.factors.length ? security.factors : [fired.get('SECURITY_CHANGE') ?? 'security posture']);
  if (fired.has('COMPLIANCE_REQUIRED')) add('compliance', [fired.get('COMPLIANCE_REQUIRED')!]);
  if (fired.has('CROSS_PROJECT_IMPACT')) add('architecture', [fired.get('CROSS_PROJECT_IMPACT')!]);
  if (fired.has('DOMINO_COMPLETE')) add('architecture', [`completion: ${fired.get('DOMINO_COMPLETE')!}`]);
  if (risk.complexityScore >= 0.5) add('architecture', complexity.factors);
  if (fired.has('CRITICAL_DEPLOYMENT') || risk.impactScore >= 0.6) {
    add('performance', impact.factors.length ? impact.factors : [fired.get('CRITICAL_DEPLOYMENT') ?? 'user impact']);
  }
  if (fired.has('CRITICAL_DEPLOYMENT')) add('security', [fired.get('CRITICAL_DEPLOYMENT')!]);
  // Some trigger fired but no analyzer points anywhere: a general design review.
  if (!focus.size) add('architecture', ['general change review']);
  if (request.riskIndicators.testsPassed === false) add(focus.keys().next().value!, ['tests failed']);
  for (const [type, items] of focus) focus.set(type, [...new Set(items)]);
  return focus;
}

export interface UnfilledRole {
  role: AssignmentRole;
  expertType: ExpertType;
  reason: string;
}

export interface AssignmentPlan {
  assignments: PlannedAssignment[];
  unfilled: UnfilledRole[];
}

export interface PlanInput {
  tier: TierLevel;
  request: DeploymentRequest;
  risk: RiskView;
  triggers: FiredTrigger[];
  experts: ExpertCandidate[];
  slaHours: SlaHours;
  now: Date;
  newId: () => string;
}

/**
 * Who reviews a request. Tier 0: an automated validator per reviewer type the request calls for. Tier 1:
 * plus a standard human reviewer of each of those types. Tier 2: plus strategic reviewers and one
 * human_oversight expert. Each pick is routed (`routing.ts`): among the experts who are active, available,
 * not away, below capacity, not the requester (neither by id nor as a subject bound to answer for it) and
 * not already on this request, the best specialty match for the request's areas, then the least loaded. A
 * role nobody can fill is reported, so the CoE escalates instead of waiting for a review that will never come.
 */
export function planAssignments(input: PlanInput): AssignmentPlan {
  const { tier, request, risk, triggers, now } = input;
  const pool = new ExpertPool(input.experts, { requester: request.requester, now, areas: requestAreas(request, triggers) });
  const focus = reviewFocus(request, risk, triggers);
  const slaHours = input.slaHours[`tier_${tier}`];
  const priority = priorityOf(tier, risk.overallScore);
  const plan: AssignmentPlan = { assignments: [], unfilled: [] };
  const place = (role: AssignmentRole, expertType: ExpertType, scope: string[], missing: string) => {
    const expert = pool.take({ role, expertType });
    if (!expert) {
      plan.unfilled.push({ role, expertType, reason: missing });
      return;
    }
    plan.assignments.push(toAssignment(expert, role, scope, { tier, priority, slaHours, now, id: input.newId() }));
  };

  for (const [type, scope] of focus) place('validator', type, scope, 'no automated validator with free capacity');
  if (tier >= 1) {
    for (const [type, scope] of focus) place('standard', type, scope, 'no standard reviewer with free capacity who is not the requester');
  }
  if (tier === 2) {
    // A type whose strategic reviewers are all away or unavailable counts as having none.
    const strategicTypes = [...focus.keys()].filter((type) =>
      input.experts.some((e) => e.expertType === type && fitsRole(e, 'strategic') && e.active !== false && isAvailableAt(e, now)),
    );
    if (strategicTypes.length) {
      for (const type of strategicTypes) place('strategic', type, [`strategic review: ${focus.get(type)!.join('; ')}`], 'no strategic reviewer with free capacity who is not the requester');
    } else {
      // None of the called-for types has a strategic reviewer: any strategic reviewer looks at the whole change.
      const any = pool.take({ role: 'strategic', exceptTypes: ['human_oversight'] });
      if (any) plan.assignments.push(toAssignment(any, 'strategic', ['strategic review of the whole change'], { tier, priority, slaHours, now, id: input.newId() }));
      else plan.unfilled.push({ role: 'strategic', expertType: 'architecture', reason: 'no strategic reviewer with free capacity' });
    }
    place('oversight', 'human_oversight', ['final human approval of a tier 2 deployment'], 'no human_oversight expert with free capacity who is not the requester');
  }
  return plan;
}

export interface BreachInput {
  breached: { assignmentId: string; expertId: string; expertType: ExpertType; role: AssignmentRole; tierLevel: TierLevel };
  /** Breaches this request had before this one. */
  priorBreachesForRequest: number;
  experts: ExpertCandidate[];
  /** Everyone already on the request (they are busy with it or failed it). */
  excludedExpertIds: string[];
  requester: string;
  now: Date;
  slaHours: SlaHours;
  newId: () => string;
  /** The request's areas (`requestAreas`), so that the replacement matches it as the first pick did. */
  areas?: readonly string[];
}

export type BreachResponse =
  | { action: 'reassign' | 'oversight'; assignment: PlannedAssignment; reason: string }
  | { action: 'escalate'; reason: string };

/**
 * What a breached SLA leads to: the first breach of a tier 0/1 request goes to another eligible expert of
 * the same type and role; a second breach, a breach on tier 2, or nobody left to reassign to goes to a
 * human_oversight expert; with none of those free the request is escalated. Nothing expires silently.
 */
export function planBreachResponse(input: BreachInput): BreachResponse {
  const { breached, now } = input;
  const pool = new ExpertPool(input.experts, { requester: input.requester, now, areas: input.areas ?? [] }, input.excludedExpertIds);
  const slaHours = input.slaHours[`tier_${breached.tierLevel}`];
  const options = { tier: breached.tierLevel, priority: 'high' as Priority, slaHours, now, id: input.newId() };
  if (input.priorBreachesForRequest === 0 && breached.tierLevel < 2 && breached.role !== 'oversight') {
    const sameRole = pool.take({ role: breached.role, expertType: breached.expertType });
    if (sameRole) {
      return {
        action: 'reassign',
        assignment: toAssignment(sameRole, breached.role, [`reassigned after ${breached.expertId} missed the SLA`], options),
        reason: `reassigned to ${sameRole.id}`,
      };
    }
  }
  const oversight = pool.take({ role: 'oversight', expertType: 'human_oversight' });
  if (oversight) {
    return {
      action: 'oversight',
      assignment: toAssignment(oversight, 'oversight', [`human oversight after ${breached.expertId} (${breached.expertType}) missed the SLA`], options),
      reason: `handed to human oversight ${oversight.id}`,
    };
  }
  return { action: 'escalate', reason: 'no human_oversight expert with free capacity is left' };
}

function priorityOf(tier: TierLevel, overallScore: number): Priority {
  if (overallScore >= 0.8) return 'critical';
  return (['low', 'normal', 'high'] as const)[tier];
}

function toAssignment(
  expert: ExpertCandidate,
  role: AssignmentRole,
  scope: string[],
  o: { tier: TierLevel; priority: Priority; slaHours: number; now: Date; id: string },
): PlannedAssignment {
  return {
    assignmentId: o.id,
    expertId: expert.id,
    expertType: expert.expertType,
    expertKind: expert.type,
    runtime: expert.runtime,
    role,
    scope,
    tierLevel: o.tier,
    priority: o.priority,
    slaHours: o.slaHours,
    assignedAt: o.now,
    slaDueAt: new Date(o.now.getTime() + o.slaHours * 3_600_000),
  };
}

/** Routed picking (`routing.ts`) that counts the picks made in this plan: each expert once, each pick a slot. */
class ExpertPool {
  private readonly load = new Map<string, number>();
  private readonly taken = new Set<string>();

  constructor(
    private readonly experts: ExpertCandidate[],
    private readonly context: { requester: string; now: Date; areas: readonly string[] },
    excluded: string[] = [],
  ) {
    for (const e of experts) this.load.set(e.id, e.openReviews);
    for (const id of excluded) this.taken.add(id);
  }

  take(need: ReviewNeed): ExpertCandidate | undefined {
    const chosen = pickExpert(this.experts, need, { ...this.context, load: this.load, excluded: this.taken });
    if (chosen) {
      this.taken.add(chosen.id);
      this.load.set(chosen.id, this.load.get(chosen.id)! + 1);
    }
    return chosen;
  }
}
