import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemError } from '@agf/platform';
import type { Request } from 'express';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { equalSecrets, parseCookies, SESSION_COOKIE, type Session, SessionStore } from './sessions';

const PUBLIC_ROUTE = Symbol('console:public');
/** A route open without a session (sign-in, the session probe, OIDC's redirects). */
export const PublicRoute = () => SetMetadata(PUBLIC_ROUTE, true);

const SESSION = Symbol('console:session');
export const sessionOf = (req: Request): Session => (req as Request & { [SESSION]: Session })[SESSION];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every console API route: a live session (401 otherwise), and for a state-changing method a request from the
 * console's own origin carrying the session's CSRF token in `X-CSRF-Token` (403 otherwise). Sign-in itself has
 * no session yet; it is held to the same-origin check (a cross-site form cannot sign a victim in).
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionStore,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const changesState = !SAFE_METHODS.has(req.method);
    if (changesState && !this.sameOrigin(req)) throw new ProblemError(403, 'cross-site-request', 'Forbidden', 'state-changing requests are accepted from the console itself only');
    const session = this.sessions.find(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (session) (req as Request & { [SESSION]: Session })[SESSION] = session;
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    if (!session) throw new ProblemError(401, 'not-signed-in', 'Unauthorized', 'sign in first');
    if (changesState && !equalSecrets(String(req.headers['x-csrf-token'] ?? ''), session.csrfToken)) {
      throw new ProblemError(403, 'csrf-token-invalid', 'Forbidden', 'missing or wrong X-CSRF-Token');
    }
    return true;
  }

  /** Browsers send `Origin` on every state-changing fetch, and `Sec-Fetch-Site`; either must say "this site". */
  private sameOrigin(req: Request): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined) return origin === this.config.publicUrl.origin || origin === `http://${req.headers.host ?? ''}` || origin === `https://${req.headers.host ?? ''}`;
    const site = req.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin';
  }
}
