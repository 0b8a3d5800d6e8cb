import { Controller, Get, Inject, Logger, Req, Res } from '@nestjs/common';
import { ProblemError } from '@agf/platform';
import type { Request, Response } from 'express';
import * as oidc from 'openid-client';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { callerOf } from './session.http.controller';
import { PublicRoute } from './session-guard';
import { parseCookies, serializeCookie, SESSION_COOKIE, SessionStore } from './sessions';
import { Upstream } from './upstream';

/** The PKCE verifier, state and nonce between the redirect to the provider and the way back: 10 minutes at most. */
const TRANSACTION_COOKIE = 'agf_console_oidc';
const TRANSACTION_SECONDS = 600;
export const OIDC_CALLBACK_PATH = '/console-api/oidc/callback';

interface Transaction {
  verifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

/**
 * OIDC authorization code flow with PKCE (S256), state and nonce, against AGF_OIDC_ISSUER. The access token it
 * yields is the credential the console sends to AGF's services, which check it as they check any token (issuer,
 * audience AGF_OIDC_AUDIENCE, signature); a provider that issues opaque access tokens cannot be used.
 */
@Controller('console-api/oidc')
export class OidcHttpController {
  private readonly logger = new Logger('console');
  private configuration?: Promise<oidc.Configuration>;
  /** Sign-ins in progress, by state; the browser's cookie holds only the state, never the PKCE verifier. */
  private readonly transactions = new Map<string, Transaction>();

  constructor(
    private readonly sessions: SessionStore,
    private readonly upstream: Upstream,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @Get('login')
  @PublicRoute()
  async login(@Res() res: Response): Promise<void> {
    const provider = await this.provider();
    const now = Date.now();
    for (const [state, pending] of this.transactions) if (pending.expiresAt <= now) this.transactions.delete(state);
    const transaction: Transaction = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), expiresAt: now + TRANSACTION_SECONDS * 1000 };
    this.transactions.set(transaction.state, transaction);
    const url = oidc.buildAuthorizationUrl(provider, {
      redirect_uri: this.redirectUri(),
      scope: this.config.oidc!.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(transaction.verifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
      ...(this.config.oidc!.resource ? { resource: this.config.oidc!.resource } : {}),
    });
    // Lax: the provider's redirect back is a cross-site top-level navigation, which Strict cookies miss.
    res.setHeader('Set-Cookie', serializeCookie(TRANSACTION_COOKIE, transaction.state, { secure: this.config.secureCookies, sameSite: 'Lax', path: OIDC_CALLBACK_PATH, maxAge: TRANSACTION_SECONDS }));
    res.redirect(302, url.href);
  }

  @Get('callback')
  @PublicRoute()
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const provider = await this.provider();
    const state = parseCookies(req.headers.cookie).get(TRANSACTION_COOKIE);
    const transaction = state ? this.transactions.get(state) : undefined;
    if (state) this.transactions.delete(state);
    const clearTransaction = serializeCookie(TRANSACTION_COOKIE, '', { secure: this.config.secureCookies, sameSite: 'Lax', path: OIDC_CALLBACK_PATH, maxAge: 0 });
    if (!transaction || transaction.expiresAt <= Date.now()) {
      res.setHeader('Set-Cookie', clearTransaction);
      throw new ProblemError(400, 'oidc-transaction-missing', 'Bad Request', 'no sign-in in progress in this browser (or it took over 10 minutes): start again');
    }
    const currentUrl = new URL(req.originalUrl, this.config.publicUrl);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        provider,
        currentUrl,
        { pkceCodeVerifier: transaction.verifier, expectedState: transaction.state, expectedNonce: transaction.nonce, idTokenExpected: true },
        this.config.oidc!.resource ? { resource: this.config.oidc!.resource } : undefined,
      );
    } catch (error) {
      this.logger.warn(`OIDC sign-in refused: ${(error as Error).message}`);
      res.setHeader('Set-Cookie', clearTransaction);
      throw new ProblemError(401, 'sign-in-refused', 'Unauthorized', `the provider's answer was refused (${(error as Error).message})`);
    }
    const authorization = `Bearer ${tokens.access_token}`;
    const caller = await callerOf(this.upstream, authorization);
    const expiresIn = tokens.expiresIn();
    const { cookieValue } = this.sessions.create(authorization, caller, 'oidc', expiresIn ? Date.now() + expiresIn * 1000 : undefined);
    res.setHeader('Set-Cookie', [clearTransaction, serializeCookie(SESSION_COOKIE, cookieValue, { secure: this.config.secureCookies, sameSite: 'Strict' })]);
    // A page of our own rather than a redirect: a Strict cookie set on a cross-site navigation goes with the next one.
    res.type('html').send('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>Signed in</title></head><body><p><a href="/">Continue to the AGF console</a></p></body></html>');
  }

  private redirectUri(): string {
    return new URL(OIDC_CALLBACK_PATH, this.config.publicUrl).href;
  }

  private provider(): Promise<oidc.Configuration> {
    const settings = this.config.oidc;
    if (!settings) return Promise.reject(new ProblemError(404, 'oidc-not-configured', 'Not Found', 'sign-in with OIDC is not configured (AGF_CONSOLE_OIDC_CLIENT_ID)'));
    this.configuration ??= oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        { redirect_uris: [this.redirectUri()], response_types: ['code'] },
        settings.clientSecret ? oidc.ClientSecretPost(settings.clientSecret) : oidc.None(),
        // A provider on plain http is for local use and tests only; https is the rule elsewhere.
        new URL(settings.issuer).protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((error: Error) => {
        this.configuration = undefined;
        throw new ProblemError(502, 'oidc-unavailable', 'Bad Gateway', `the OpenID provider's discovery failed (${error.message})`);
      });
    return this.configuration;
  }
}
