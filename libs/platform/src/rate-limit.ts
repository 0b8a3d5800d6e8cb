import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ProblemError, sendProblem } from './problem';

/**
 * Per-client request budget, so one pipeline (or one misbehaving agent) cannot exhaust a service.
 * Clients are told when to come back (`Retry-After`, RateLimit headers). Probes and scrapes are exempt.
 */
export function perClientRateLimit(requestsPerMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => req.path.startsWith('/health') || req.path === '/metrics',
    handler: (req, res, _next, options) => {
      const retryAfter = res.getHeader('Retry-After') ?? String(Math.ceil(options.windowMs / 1000));
      sendProblem(
        res,
        new ProblemError(429, 'rate-limited', 'Too Many Requests', `more than ${requestsPerMinute} requests per minute from this client; retry later`, undefined, {
          'Retry-After': String(retryAfter),
        }),
        req.originalUrl,
      );
    },
  });
}
