import { Body, Controller, Delete, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ProblemError } from '@agf/platform';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { PublicRoute, sessionOf } from './session-guard';
import { type Caller, serializeCookie, SESSION_COOKIE, type Session, SessionStore } from './sessions';
import { Upstream, upstreamProblem } from './upstream';

const ApiKeySignIn = z.strictObject({ apiKey: z.string().min(8).max(512) });

/** What the browser learns about its session: who, what they may see, and the token its writes carry. */
export function sessionView(session: Session | undefined, oidc: boolean) {
  return session
    ? { signedIn: true, method: session.method, caller: session.caller, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString(), oidc }
    : { signedIn: false, oidc };
}

/**
 * Sign-in with an API key (for local use) and sign-out. The key is checked by intake (`GET /v1/me`), which
 * also says who it belongs to; the console keeps it in the session and sends it with every call it makes.
 */
@Controller('console-api/session')
export class SessionHttpController {
  constructor(
    private readonly sessions: SessionStore,
    private readonly upstream: Upstream,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @Get()
  @PublicRoute()
  current(@Req() req: Request) {
    return sessionView(sessionOf(req), Boolean(this.config.oidc));
  }

  @Post('api-key')
  @PublicRoute()
  @HttpCode(201)
  async signInWithApiKey(@Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const parsed = ApiKeySignIn.safeParse(body);
    if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'expected {"apiKey": "agf_…"}', parsed.error.issues.map((i) => ({ path: i.path.join('.') || 'apiKey', message: i.message })));
    const authorization = `Bearer ${parsed.data.apiKey.trim()}`;
    const caller = await callerOf(this.upstream, authorization);
    const previous = sessionOf(req);
    if (previous) this.sessions.end(previous.id);
    const { session, cookieValue } = this.sessions.create(authorization, caller, 'api-key');
    res.setHeader('Set-Cookie', serializeCookie(SESSION_COOKIE, cookieValue, { secure: this.config.secureCookies, sameSite: 'Strict' }));
    return sessionView(session, Boolean(this.config.oidc));
  }

  @Delete()
  @HttpCode(204)
  signOut(@Req() req: Request, @Res({ passthrough: true }) res: Response): void {
    this.sessions.end(sessionOf(req).id);
    res.setHeader('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { secure: this.config.secureCookies, sameSite: 'Strict', maxAge: 0 }));
  }
}

/** Who a credential belongs to, as intake says; a credential intake refuses signs no one in. */
export async function callerOf(upstream: Upstream, authorization: string): Promise<Caller> {
  const answer = await upstream.call('intake', '/v1/me', authorization);
  if (answer.status === 401) throw new ProblemError(401, 'sign-in-refused', 'Unauthorized', 'AGF does not accept this credential (unknown, revoked or expired)');
  if (answer.status !== 200) throw upstreamProblem('intake', answer);
  const me = JSON.parse(answer.body) as Caller;
  return { subject: me.subject, roles: me.roles, projects: me.projects, experts: me.experts };
}
