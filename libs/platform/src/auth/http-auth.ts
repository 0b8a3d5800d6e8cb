import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable, Logger, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasRole, type Principal } from '@agf/access-domain';
import type { Role } from '@agf/contracts';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ProblemError, sendProblem } from '../problem';
import { AccessRefusals, attachPrincipal, principalOf } from './access-refusals';
import type { Authenticator } from './authenticator';

/** Paths anyone may call: probes, which therefore reveal nothing but up or down. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health/live', '/health/ready']);

const ROLES = 'agf:roles';
const SELF_AUTHENTICATED = 'agf:self-authenticated';

/**
 * The roles that may call a route (any one of them); a route without it is refused to everyone (deny by
 * default). Project scope, reviewer bindings and separation of duties are the use case's to check.
 */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/**
 * A route that proves its caller itself (a webhook signed with a shared secret) instead of with a bearer
 * credential. It must also be listed in the service's `selfAuthenticatedPaths`, so the authentication
 * middleware lets it through: either alone still requires a bearer credential (a route cannot open itself by mistake).
 */
export const SelfAuthenticated = () => SetMetadata(SELF_AUTHENTICATED, true);

/** The authenticated principal of an HTTP request (routes behind the authentication middleware always have one). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = principalOf(ctx.switchToHttp().getRequest<Request>());
  if (!principal) throw new Error('no principal: the route is not behind the authentication middleware');
  return principal;
});

/**
 * Authenticates every HTTP request but the probes and the service's self-authenticated routes (webhooks that
 * check their own signature); a missing or bad credential is answered 401 and recorded.
 */
export function authenticationMiddleware(authenticator: Authenticator, refusals: AccessRefusals, selfAuthenticatedPaths: ReadonlySet<string> = new Set()): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (PUBLIC_PATHS.has(req.path)) return next();
    if (req.method === 'POST' && selfAuthenticatedPaths.has(req.path)) return next();
    authenticator.authenticate(req.headers.authorization).then(
      (result) => {
        if (!result.ok) return sendProblem(res, refusals.refuseHttp(req, 'unauthenticated', result.reason), req.originalUrl);
        attachPrincipal(req, result.principal);
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/** A budget per principal (after the one per address, which applies before authentication). */
export function perPrincipalRateLimit(requestsPerMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: requestsPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => !principalOf(req) || req.path === '/metrics',
    keyGenerator: (req) => {
      const principal = principalOf(req)!;
      return `${principal.apiKeyId ?? principal.issuer ?? ''} ${principal.subject}`;
    },
    handler: (req, res, _next, options) => {
      sendProblem(
        res,
        new ProblemError(429, 'rate-limited', 'Too Many Requests', `more than ${requestsPerMinute} requests per minute from this principal; retry later`, undefined, {
          'Retry-After': String(res.getHeader('Retry-After') ?? Math.ceil(options.windowMs / 1000)),
        }),
        req.originalUrl,
      );
    },
  });
}

/** Checks `@Roles` on every HTTP route; message handlers check their senders' credentials themselves. */
@Injectable()
export class RolesGuard implements CanActivate {
  private readonly logger = new Logger('access');

  constructor(
    private readonly reflector: Reflector,
    private readonly refusals: AccessRefusals,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (PUBLIC_PATHS.has(req.path)) return true;
    const principal = principalOf(req);
    // Let through only when the middleware did too (no principal): the handler verifies the caller itself.
    if (!principal && this.reflector.getAllAndOverride<boolean | undefined>(SELF_AUTHENTICATED, [context.getHandler(), context.getClass()])) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, [context.getHandler(), context.getClass()]);
    if (!roles) {
      this.logger.error(`${context.getClass().name}.${context.getHandler().name} declares no @Roles: refused to everyone`);
      throw this.refusals.refuseHttp(req, 'forbidden', 'this route is open to no role');
    }
    if (!principal || !hasRole(principal, ...roles)) {
      throw this.refusals.refuseHttp(req, 'forbidden', `requires the role ${roles.join(' or ')}`);
    }
    return true;
  }
}
