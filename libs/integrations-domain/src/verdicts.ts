import type { DecisionMade } from '@agf/contracts';

/** What AGF answers the waiting deployment: `waiting` keeps it waiting (an escalation is not an answer). */
export type Verdict = { kind: 'answer'; approved: boolean; comment: string } | { kind: 'waiting' };

/** The decision fields a verdict reads; `shadow` is set when the project runs AGF in shadow mode. */
export type FinalDecision = Pick<DecisionMade, 'requestId' | 'outcome' | 'approved' | 'decisionRationale' | 'conditions'> & { shadow?: boolean };

/** GitHub caps a protection-rule comment; GitLab's approval comment is short too. */
const MAX_COMMENT = 1000;

/**
 * A decision → the answer to the pipeline: approved or rejected with the rationale and a link to the
 * request. In shadow mode the answer is always approved, and the comment says what AGF would have done.
 */
export function verdictFor(decision: FinalDecision, requestLink: string): Verdict {
  if (decision.outcome === 'ESCALATE_TO_HUMAN') return { kind: 'waiting' };
  const conditions = decision.conditions.length ? ` Conditions: ${decision.conditions.join('; ')}.` : '';
  const link = ` Details: ${requestLink}`;
  if (decision.shadow) {
    const wouldHave = decision.approved ? 'approved' : 'blocked';
    const text = `AGF shadow mode: approved without gating; AGF would have ${wouldHave} this deployment (${decision.outcome}). ${decision.decisionRationale}`;
    return { kind: 'answer', approved: true, comment: fitWithin(text, conditions + link) };
  }
  const text = `AGF ${decision.approved ? 'approved' : 'blocked'} this deployment (${decision.outcome}). ${decision.decisionRationale}`;
  return { kind: 'answer', approved: decision.approved, comment: fitWithin(text, conditions + link) };
}

/** The link always survives: the rationale is shortened first. */
function fitWithin(text: string, tail: string): string {
  const room = MAX_COMMENT - tail.length;
  return (text.length > room ? `${text.slice(0, Math.max(0, room - 1))}…` : text) + tail;
}

/** `{base}/v1/deployment-requests/{id}`: where a person reads the whole story. */
export function requestLink(publicUrl: string, requestId: string): string {
  return `${publicUrl.replace(/\/$/, '')}/v1/deployment-requests/${requestId}`;
}

/** GitHub's `review_custom_gates_for_run` body. */
export function githubCallbackBody(environment: string, verdict: { approved: boolean; comment: string }): { environment_name: string; state: 'approved' | 'rejected'; comment: string } {
  return { environment_name: environment, state: verdict.approved ? 'approved' : 'rejected', comment: verdict.comment };
}

/** GitLab's deployment approval body. */
export function gitlabApprovalBody(verdict: { approved: boolean; comment: string }): { status: 'approved' | 'rejected'; comment: string } {
  return { status: verdict.approved ? 'approved' : 'rejected', comment: verdict.comment };
}

/** Delay before callback attempt `attempt + 1` (attempt counts from 1): doubling from `baseMs`, capped. */
export function callbackBackoffMs(attempt: number, baseMs: number, maxMs = 15 * 60_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Whether a failed callback is worth trying again. A malformed request, a deployment that is gone or whose
 * run has finished (400, 404, 410, 422) will not get better; anything else may (network errors, 5xx, 429,
 * and 401/403, which an operator fixes by correcting the App's credentials or permissions).
 */
export function callbackRetryable(status: number | undefined): boolean {
  return status === undefined || ![400, 404, 410, 422].includes(status);
}
