import { describeIssues, findUnstorableStrings, findUnsafeKeys, jsonDepth, UNSTORABLE_STRING_MESSAGE } from '@agf/contracts';
import { ProblemError } from '@agf/platform';
import type { Request } from 'express';
import type { z } from 'zod';

/** Content type, unsafe keys, nesting, unstorable strings, then the schema: the checks every JSON command body gets. */
export function parseJsonBody<S extends z.ZodType>(req: Request, body: unknown, schema: S): z.infer<S> {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the body as application/json');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', 'expected a JSON object', [{ path: '(body)', message: 'expected a JSON object' }]);
  }
  const unsafe = findUnsafeKeys(body);
  if (unsafe.length) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body has keys that are not allowed', unsafe.map((path) => ({ path, message: 'key not allowed (prototype pollution)' })));
  }
  if (jsonDepth(body) > 32) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is nested too deeply', [{ path: '(body)', message: 'nested deeper than 32 levels' }]);
  const unstorable = findUnstorableStrings(body);
  if (unstorable.length) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body has strings that cannot be stored', unstorable.map((path) => ({ path, message: UNSTORABLE_STRING_MESSAGE })));
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', describeIssues(parsed.error).slice(0, 50));
  return parsed.data;
}
