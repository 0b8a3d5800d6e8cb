import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { throwError } from 'rxjs';
import { describeIssues, findJsonInputProblem } from '@agf/contracts';
import { EventTooLarge } from '@agf/messaging';
import type { z } from 'zod';

export interface ProblemField {
  path: string;
  message: string;
}

/**
 * An RFC 9457 problem. Use cases throw it with a stable `code`; the HTTP edge turns it into
 * `application/problem+json`, and NATS handlers into a rejection event.
 */
export class ProblemError extends Error {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: ProblemField[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export function sendProblem(res: Response, problem: ProblemError, instance?: string): void {
  for (const [key, value] of Object.entries(problem.headers)) res.setHeader(key, value);
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `https://agf.dev/problems/${problem.code}`,
        title: problem.title,
        status: problem.status,
        ...(problem.detail ? { detail: problem.detail } : {}),
        ...(instance ? { instance } : {}),
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}

/** Every HTTP error leaves as problem+json; unexpected ones are logged and never leak internals. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void | never {
    // Message handlers: hand the original error back to the JetStream transport (retry, then dead letter with its reason).
    if (host.getType() !== 'http') return throwError(() => exception) as never;
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    sendProblem(res, toProblem(exception, this.logger), req.originalUrl);
  }
}

function toProblem(exception: unknown, logger: Logger): ProblemError {
  if (exception instanceof ProblemError) return exception;
  if (exception instanceof EventTooLarge) return new ProblemError(413, 'event-too-large', 'Content Too Large', exception.message);
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    const detail = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
    return new ProblemError(status, status === 404 ? 'not-found' : `http-${status}`, exception.name.replace(/Exception$/, ''), detail);
  }
  if (isDependencyUnavailable(exception)) {
    return new ProblemError(503, 'unavailable', 'Service Unavailable', 'a dependency is unavailable; retry later', undefined, { 'Retry-After': '2' });
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return new ProblemError(500, 'internal', 'Internal Server Error', 'unexpected error; it has been logged');
}

// Postgres connection exceptions (class 08), shutdowns (57P01-57P03), pool and socket failures: the
// request did not commit, so the client is told to retry rather than given a 500.
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03']);
const UNAVAILABLE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection (is )?(closed|ended)|server closed the connection|not (yet )?initiali[sz]ed|cannot use a pool after/i;

export function isDependencyUnavailable(exception: unknown): boolean {
  for (let e = exception as { status?: unknown; code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth += 1) {
    if (e.status === 503) return true;
    const code = typeof e.code === 'string' ? e.code : '';
    if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
    if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}

/** Express error middleware for what fails before Nest routing (body parsing: size, malformed JSON). */
export function bodyParserProblems(error: unknown, req: Request, res: Response, next: NextFunction): void {
  const e = error as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large') {
    return sendProblem(res, new ProblemError(413, 'body-too-large', 'Payload Too Large', 'the request body exceeds 1 MiB'), req.originalUrl);
  }
  if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported' || e?.status === 400) {
    return sendProblem(
      res,
      new ProblemError(400, 'malformed-body', 'Bad Request', 'the request body is not valid JSON', [{ path: '(body)', message: e.message ?? 'malformed JSON' }]),
      req.originalUrl,
    );
  }
  if (e?.status && e.status >= 400 && e.status < 500) {
    return sendProblem(res, new ProblemError(e.status, `http-${e.status}`, 'Bad Request', e.message), req.originalUrl);
  }
  next(error);
}

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
