import type { RequestHandler } from 'express';
import { ProblemError, sendProblem } from './problem';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bounds the writes (POST, PUT, PATCH, DELETE) a process works on at once. Past the bound it answers `503`
 * with `Retry-After` at once, instead of queueing requests for a database connection until clients give up
 * with broken connections: an overloaded service sheds what it cannot take and finishes what it accepted.
 * Reads (including long-polls, which mostly wait) are not counted.
 */
export function writeAdmission(maxInFlight: number): RequestHandler {
  let inFlight = 0;
  return (req, res, next) => {
    if (READS.has(req.method)) return next();
    if (inFlight >= maxInFlight) {
      sendProblem(
        res,
        new ProblemError(503, 'overloaded', 'Service Unavailable', `${maxInFlight} writes are in progress; retry later`, undefined, { 'Retry-After': '1' }),
        req.originalUrl,
      );
      return;
    }
    inFlight += 1;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight -= 1;
    };
    res.once('finish', release);
    res.once('close', release);
    next();
  };
}
