import { DeploymentRequestInput, describeIssues, findJsonInputProblem, type ValidationIssue } from '@agf/contracts';

export type SubmissionCheck = { ok: true; input: DeploymentRequestInput } | { ok: false; errors: ValidationIssue[] };

/** The same checks for HTTP and NATS: shape and limits, then unsafe keys, nesting and unstorable strings, then the schema. */
export function validateSubmission(body: unknown): SubmissionCheck {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [{ path: '(body)', message: 'expected a JSON object' }] };
  }
  const found = findJsonInputProblem(body);
  if (found) return { ok: false, errors: found.errors };
  const parsed = DeploymentRequestInput.safeParse(body);
  return parsed.success ? { ok: true, input: parsed.data } : { ok: false, errors: describeIssues(parsed.error).slice(0, 50) };
}
