import { canSubmitFor, type Principal } from '@agf/access-domain';
import type { DeploymentRequestInput, RefusalCode } from '@agf/contracts';

/** The submission as stored: its requester is always the authenticated principal's subject. */
export type AuthorizedSubmission = DeploymentRequestInput & { requester: string };

export type SubmissionAuthorization =
  | { ok: true; input: AuthorizedSubmission }
  | { ok: false; code: Extract<RefusalCode, 'forbidden' | 'requester-mismatch'>; reason: string };

/** Whether a principal may submit this request (HTTP and NATS alike): a submitter of its project, in its own name. */
export function authorizeSubmission(principal: Principal, input: DeploymentRequestInput): SubmissionAuthorization {
  if (!canSubmitFor(principal, input.projectId)) {
    return { ok: false, code: 'forbidden', reason: `${principal.subject} may not submit for project ${input.projectId}` };
  }
  if (input.requester !== undefined && input.requester !== principal.subject) {
    return { ok: false, code: 'requester-mismatch', reason: `requester ${input.requester} is not the authenticated subject ${principal.subject}` };
  }
  return { ok: true, input: { ...input, requester: principal.subject } };
}
