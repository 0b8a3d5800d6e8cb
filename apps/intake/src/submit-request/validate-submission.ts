import { DeploymentRequestInput, describeIssues, findUnstorableStrings, findUnsafeKeys, jsonDepth, UNSTORABLE_STRING_MESSAGE, type ValidationIssue } from '@agf/contracts';

const MAX_DEPTH = 32;

export type SubmissionCheck = { ok: true; input: DeploymentRequestInput } | { ok: false; errors: ValidationIssue[] };

/** The same checks for HTTP and NATS: shape and limits, then unsafe keys, nesting and unstorable strings, then the schema. */
export function validateSubmission(body: unknown): SubmissionCheck {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, errors: [{ path: '(body)', message: 'expected a JSON object' }] };
  }
  const unsafe = findUnsafeKeys(body);
  if (unsafe.length) return { ok: false, errors: unsafe.map((path) => ({ path, message: 'key not allowed (prototype pollution)' })) };
  if (jsonDepth(body) > MAX_DEPTH) return { ok: false, errors: [{ path: '(body)', message: `nested deeper than ${MAX_DEPTH} levels` }] };
  const unstorable = findUnstorableStrings(body);
  if (unstorable.length) return { ok: false, errors: unstorable.map((path) => ({ path, message: UNSTORABLE_STRING_MESSAGE })) };
  const parsed = DeploymentRequestInput.safeParse(body);
  return parsed.success ? { ok: true, input: parsed.data } : { ok: false, errors: describeIssues(parsed.error).slice(0, 50) };
}
