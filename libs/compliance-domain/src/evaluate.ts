import type { ControlEvaluation, DeploymentRequest, ExpertKind, TierLevel } from '@agf/contracts';
import type { ComplianceRule } from '@agf/policy';

export interface CompletedReview {
  assignmentId: string;
  expertId: string;
  expertType: string;
  /** null: recorded before AGF kept it. */
  expertKind: ExpertKind | null;
  /** The verified subject who answered (`review.completed` `actor`); null for a built-in validator (or a review recorded before identities). */
  actorSubject: string | null;
  decision: 'approve' | 'reject' | 'conditional';
}

export interface ComplianceInput {
  request: DeploymentRequest;
  riskAssessed: boolean;
  reviews: CompletedReview[];
  /** Assignments neither answered nor superseded; 0 (with reviews in) turns a waiting control into a failure. */
  openAssignments?: number;
  /** The CoE's tier for the request; while it is not known, the change is taken for a governed one (the stricter reading). */
  tierLevel?: TierLevel;
  /** Set when the request was approved by break-glass: an emergency change, judged by its review after the fact. */
  emergency?: EmergencyApproval;
}

export interface EmergencyApproval {
  /** Who broke the glass (the verified subject). */
  approvedBy: string;
  /** The assignment that reviews it after the fact; null when nobody could be assigned. */
  afterTheFactAssignmentId: string | null;
}

export interface ComplianceEvaluation {
  passed: boolean;
  pending: boolean;
  controls: ControlEvaluation[];
  basedOnAssignments: string[];
}

type ControlOutcome = Pick<ControlEvaluation, 'status' | 'reason'>;

function isApproval(review: CompletedReview): boolean {
  // A conditional approval still approves; the conditions are tracked elsewhere.
  return review.decision === 'approve' || review.decision === 'conditional';
}

function applicabilityReasons(rule: ComplianceRule, request: DeploymentRequest): string[] {
  const scopes = (request.riskIndicators.complianceScopes ?? []).map((scope) => scope.toLowerCase());
  const reasons: string[] = [];
  for (const condition of rule.applies_when) {
    if (condition === 'always') reasons.push('always applies');
    if (condition === 'personal_data' && request.riskIndicators.touchesPersonalData === true) {
      reasons.push('the change touches personal data');
    }
    if (condition === 'scope' && scopes.includes(rule.framework.toLowerCase())) {
      reasons.push(`the request is in ${rule.framework} scope`);
    }
  }
  return reasons;
}

function describeConditions(rule: ComplianceRule): string {
  const described = rule.applies_when.map((condition) => {
    if (condition === 'personal_data') return 'the change touches personal data';
    if (condition === 'scope') return `the request is in ${rule.framework} scope`;
    return 'always';
  });
  return described.length > 0 ? described.join(' or ') : 'no condition is configured';
}

/**
 * SOC2 CC8.1. A governed change (tier 1 or 2) needs the approval of a person whose identity was verified and
 * who is not the requester: automated validators alone do not satisfy it. A tier 0 change, which the policy
 * leaves to automated validators, passes on any approval by someone other than the requester.
 */
function evaluateIndependentApproval(input: ComplianceInput): ControlOutcome {
  if (input.emergency) return evaluateEmergencyChange(input, input.emergency);
  const requester = input.request.requester;
  // Self-review never counts, whichever expert the requester answered for: segregation of duties is the whole point.
  const independentReviews = input.reviews.filter((review) => review.expertId !== requester && review.actorSubject !== requester);
  const rejection = independentReviews.find((review) => review.decision === 'reject');
  if (rejection) return { status: 'fail', reason: `rejected by ${rejection.expertId}` };
  if (input.tierLevel === 0) {
    const approval = independentReviews.find(isApproval);
    if (approval) return { status: 'pass', reason: `approved by ${approval.expertId}, who is not the requester ${requester} (tier 0)` };
    return { status: 'pending', reason: `waiting for an approval by someone other than the requester ${requester}` };
  }
  const approval = independentReviews.find((review) => isApproval(review) && review.expertKind === 'human' && review.actorSubject !== null);
  if (approval) {
    return {
      status: 'pass',
      reason: `approved by ${approval.actorSubject} for ${approval.expertId}, a verified person other than the requester ${requester}`,
    };
  }
  return {
    status: 'pending',
    reason: `waiting for an approval by a verified person other than the requester ${requester} (automated validators alone do not satisfy a governed change)`,
  };
}

/**
 * SOC2 CC8.1 for a break-glass approval: an emergency change, not a normal approval. It passes only on the
 * approval, after the fact, by a verified person other than the requester; until then it is pending.
 */
function evaluateEmergencyChange(input: ComplianceInput, emergency: EmergencyApproval): ControlOutcome {
  const requester = input.request.requester;
  const by = `emergency change approved by ${emergency.approvedBy} through break-glass`;
  if (!emergency.afterTheFactAssignmentId) return { status: 'fail', reason: `${by}, and nobody could be assigned to review it after the fact` };
  const review = input.reviews.find((r) => r.assignmentId === emergency.afterTheFactAssignmentId);
  if (!review) return { status: 'pending', reason: `${by}; emergency change, after-the-fact review pending` };
  if (review.decision === 'reject') return { status: 'fail', reason: `${by}; rejected after the fact by ${review.actorSubject ?? review.expertId}` };
  if (review.actorSubject === null || review.actorSubject === requester || review.expertId === requester) {
    return { status: 'fail', reason: `${by}; the after-the-fact review was not by a verified person other than the requester ${requester}` };
  }
  return { status: 'pass', reason: `${by}; approved after the fact by ${review.actorSubject} for ${review.expertId}` };
}

function evaluateChangeRecord(input: ComplianceInput): ControlOutcome {
  const { request } = input;
  if (!request.version || request.version.trim() === '') {
    return { status: 'fail', reason: 'no version recorded for the change' };
  }
  if (request.changes.length === 0) return { status: 'fail', reason: 'no changes listed' };
  if (!input.riskAssessed) return { status: 'pending', reason: 'waiting for the risk assessment' };

  const rollback = request.metadata['rollback'];
  const rollbackSource =
    typeof rollback === 'string' && rollback.trim() !== ''
      ? 'rollback plan from the request'
      : 'rollback plan generated by AGF';
  return {
    status: 'pass',
    reason: `change record complete: version ${request.version}, ${request.changes.length} change(s), risk assessment, ${rollbackSource}`,
  };
}

function evaluateReviewerOfType(rule: ComplianceRule, input: ComplianceInput): ControlOutcome {
  const expertType = rule.expert_type;
  if (!expertType) {
    return { status: 'fail', reason: 'rule requires a reviewer of a type but names no expert_type' };
  }
  const reviewsOfType = input.reviews.filter((review) => review.expertType === expertType);
  const rejection = reviewsOfType.find((review) => review.decision === 'reject');
  if (rejection) return { status: 'fail', reason: `rejected by ${expertType} reviewer ${rejection.expertId}` };
  const approval = reviewsOfType.find(isApproval);
  if (approval) return { status: 'pass', reason: `approved by ${expertType} reviewer ${approval.expertId}` };
  return { status: 'pending', reason: `waiting for a ${expertType} reviewer` };
}

function evaluateRule(rule: ComplianceRule, input: ComplianceInput): ControlOutcome {
  if (applicabilityReasons(rule, input.request).length === 0) {
    return { status: 'not_applicable', reason: `applies only when ${describeConditions(rule)}` };
  }
  switch (rule.requires) {
    case 'independent_approval':
      return evaluateIndependentApproval(input);
    case 'change_record':
      return evaluateChangeRecord(input);
    case 'reviewer_of_type':
      return evaluateReviewerOfType(rule, input);
    default:
      return { status: 'fail', reason: `unknown requirement ${String(rule.requires)}` };
  }
}

/** Pure: the same rules and input always give the same evaluation, so it can be re-run for audits. */
export function evaluateCompliance(rules: ComplianceRule[], input: ComplianceInput): ComplianceEvaluation {
  const controls: ControlEvaluation[] = rules.map((rule) => ({
    framework: rule.framework,
    control: rule.control,
    ...evaluateRule(rule, input),
  }));
  // Once every assigned review is in, nothing more can arrive to satisfy a waiting control: it fails rather
  // than leaving the request waiting forever (e.g. no compliance reviewer was assigned to a personal-data change).
  if (input.openAssignments === 0 && input.reviews.length > 0) {
    for (const [index, control] of controls.entries()) {
      // An emergency change's after-the-fact review is still to come, whatever the count says (its assignment may arrive after the decision).
      if (input.emergency && rules[index]!.requires === 'independent_approval') continue;
      if (control.status === 'pending') Object.assign(control, { status: 'fail', reason: `unmet after every assigned review was in: ${control.reason}` });
    }
  }
  const failed = controls.some((control) => control.status === 'fail');
  const pending = !failed && controls.some((control) => control.status === 'pending');
  return {
    passed: !failed && !pending,
    pending,
    controls,
    basedOnAssignments: input.reviews.map((review) => review.assignmentId).sort(),
  };
}
