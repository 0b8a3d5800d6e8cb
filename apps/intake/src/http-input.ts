import { describeIssues, findJsonInputProblem } from '@agf/contracts';
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
  const found = findJsonInputProblem(body);
  if (found) throw new ProblemError(400, 'invalid-request', 'Bad Request', `the body ${found.problem}`, found.errors);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', describeIssues(parsed.error).slice(0, 50));
  return parsed.data;
}
