import type { ReviewRejectionCode } from '@agf/contracts';
import type { AssignmentStatus } from './types';

/** The codes the rules below refuse an answer with; an answer that fails its schema never reaches them. */
export type ReviewRefusalCode = Exclude<ReviewRejectionCode, 'invalid-answer'>;

export interface ReviewRefusal {
  code: ReviewRefusalCode;
  reason: string;
}

/** Statuses in which an assignment still takes its answer: a breached one does until it is reassigned. */
const OPEN: ReadonlySet<AssignmentStatus> = new Set(['pending', 'breached']);

export type ReviewAcceptance<R, A> = { accepted: true; request: R; assignment: A } | { accepted: false; refusal: ReviewRefusal };

/**
 * Whether the CoE takes an expert's answer, checked in the order a reviewer can act on: the request and the
 * assignment must exist, the assignment must be the expert's, nobody reviews their own deployment, and the
 * request and then the assignment must still be open (a decision closes every assignment, and says more).
 * Intake's review API applies the same rules to its read model, so an answer gets the same code over HTTP as
 * over NATS.
 */
export function acceptReview<R extends { requester: string }, A extends { expertId: string; status: AssignmentStatus }>(input: {
  review: { assignmentId: string; expertId: string };
  request: R | undefined;
  assignment: A | undefined;
  decided: boolean;
}): ReviewAcceptance<R, A> {
  const { review, request, assignment } = input;
  const refuse = (code: ReviewRefusalCode, reason: string): ReviewAcceptance<R, A> => ({ accepted: false, refusal: { code, reason } });
  if (!request) return refuse('unknown-request', 'the CoE has no such deployment request');
  if (!assignment) return refuse('unknown-assignment', `assignment ${review.assignmentId} is not an assignment of this request`);
  if (assignment.expertId !== review.expertId) return refuse('not-assigned-expert', `the assignment belongs to ${assignment.expertId}`);
  if (review.expertId === request.requester) return refuse('separation-of-duties', 'the requester cannot review their own deployment');
  if (input.decided) return refuse('already-decided', 'the request is already decided');
  if (!OPEN.has(assignment.status)) return refuse('assignment-closed', `the assignment is ${assignment.status}`);
  return { accepted: true, request, assignment };
}
