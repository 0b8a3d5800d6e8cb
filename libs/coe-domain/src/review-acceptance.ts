import type { ExpertKind, RefusalCode, ReviewRejectionCode, Role } from '@agf/contracts';
import type { AssignmentStatus } from './types';

/** The codes the rules below refuse an answer with; an answer that fails its schema never reaches them. */
export type ReviewRefusalCode = Exclude<ReviewRejectionCode, 'invalid-answer'>;

export interface ReviewRefusal {
  code: ReviewRefusalCode;
  reason: string;
  /** Set when the refusal is a security decision, to be recorded (`security.refused`) under this code. */
  security?: RefusalCode;
}

/** Statuses in which an assignment still takes its answer: a breached one does until it is reassigned. */
const OPEN: ReadonlySet<AssignmentStatus> = new Set(['pending', 'breached']);

export type ReviewAcceptance<R, A> = { accepted: true; request: R; assignment: A } | { accepted: false; refusal: ReviewRefusal };

/** The verified principal behind an answer. */
export interface Answerer {
  subject: string;
  /** Its roles; absent when the door it came through (intake's review API) checked them already. */
  roles?: readonly Role[];
}

/** An expert as the policy binds it to principals (`principal:`); a builtin validator has none. */
export interface ExpertBinding {
  kind: ExpertKind;
  runtime: 'builtin' | 'external';
  principal: readonly string[];
}

/**
 * Whether a principal may answer for an expert: its subject must be bound to the expert. For a human expert
 * it must also be a reviewer, as over HTTP (an admin named in a binding is still not a reviewer). For an
 * external automated expert the binding alone suffices: it is a workload whose credential exists to answer for
 * that expert, and a role meant for people would add a way to misconfigure it, not a safeguard.
 */
export function refuseUnboundAnswerer(answerer: Answerer, expertId: string, expert: ExpertBinding | undefined): ReviewRefusal | undefined {
  if (!expert?.principal.includes(answerer.subject)) {
    return { code: 'forbidden', security: 'not-bound-to-expert', reason: `${answerer.subject} is not bound to answer for ${expertId}` };
  }
  // The binding names who may answer; the role says the credential was issued for answering (not for, say, submitting).
  if (answerer.roles && !answerer.roles.includes('reviewer')) {
    return { code: 'forbidden', security: 'forbidden', reason: `${answerer.subject} does not hold the reviewer role` };
  }
  return undefined;
}

/**
 * Whether the CoE takes an expert's answer, checked in the order a reviewer can act on: the one who answers
 * must be bound to the expert the answer names (before anything is looked up, so an unbound principal learns
 * nothing of the request), the request and the assignment must exist, the assignment must be the expert's,
 * nobody reviews their own deployment (by expert id or by subject, whatever credential they use), and the
 * request and then the assignment must still be open (a decision closes every assignment, and says more).
 * Intake's review API applies the same rules to its read model, so an answer gets the same code over HTTP as
 * over NATS. `answerer` and `expert` are left out only by a caller that checked the binding itself.
 */
export function acceptReview<R extends { requester: string }, A extends { expertId: string; status: AssignmentStatus }>(input: {
  review: { assignmentId: string; expertId: string };
  request: R | undefined;
  assignment: A | undefined;
  decided: boolean;
  answerer?: Answerer;
  /** The expert the answer names, as the policy binds it. */
  expert?: ExpertBinding;
}): ReviewAcceptance<R, A> {
  const { review, request, assignment, answerer } = input;
  const refuse = (code: ReviewRefusalCode, reason: string, security?: RefusalCode): ReviewAcceptance<R, A> => ({
    accepted: false,
    refusal: { code, reason, ...(security ? { security } : {}) },
  });
  const unbound = answerer && refuseUnboundAnswerer(answerer, review.expertId, input.expert);
  if (unbound) return { accepted: false, refusal: unbound };
  if (!request) return refuse('unknown-request', 'the CoE has no such deployment request');
  if (!assignment) return refuse('unknown-assignment', `assignment ${review.assignmentId} is not an assignment of this request`);
  if (assignment.expertId !== review.expertId) return refuse('not-assigned-expert', `the assignment belongs to ${assignment.expertId}`);
  if (review.expertId === request.requester || answerer?.subject === request.requester) {
    return refuse('separation-of-duties', 'the requester cannot review their own deployment', 'separation-of-duties');
  }
  if (input.decided) return refuse('already-decided', 'the request is already decided');
  if (!OPEN.has(assignment.status)) return refuse('assignment-closed', `the assignment is ${assignment.status}`);
  return { accepted: true, request, assignment };
}
