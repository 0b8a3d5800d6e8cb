import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The signed-in person, as intake's `GET /v1/me` described them at sign-in. */
export interface Caller {
  subject: string;
  roles: string[];
  projects: string[];
  experts: string[];
}

export interface Session {
  id: string;
  /** The user's own credential (`Bearer <API key or access token>`): every upstream call carries it. */
  authorization: string;
  caller: Caller;
  method: 'api-key' | 'oidc';
  /** Sent back in `X-CSRF-Token` on every state-changing call. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** Hard end: the session's maximum age, or the access token's expiry, whichever is first. */
  expiresAt: number;
}

export const SESSION_COOKIE = 'agf_console_session';

/**
 * Sessions held in this process's memory, named by a random id in a signed cookie. The credential a session
 * holds (an API key, an access token) is never written anywhere: a restart signs everyone out, which is the
 * price of keeping reviewers' credentials off disk (docs/console.md).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly secret: Buffer,
    private readonly idleMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(authorization: string, caller: Caller, method: Session['method'], credentialExpiresAt?: number): { session: Session; cookieValue: string } {
    this.sweep();
    const at = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      authorization,
      caller,
      method,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: at,
      lastSeenAt: at,
      expiresAt: Math.min(at + this.maxMs, credentialExpiresAt ?? Infinity),
    };
    this.sessions.set(session.id, session);
    return { session, cookieValue: `${session.id}.${this.sign(session.id)}` };
  }

  /** The live session a cookie names; a forged, expired or idle one is none (and an expired one is forgotten). */
  find(cookieValue: string | undefined): Session | undefined {
    if (!cookieValue) return undefined;
    const dot = cookieValue.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const id = cookieValue.slice(0, dot);
    if (!equalSecrets(cookieValue.slice(dot + 1), this.sign(id))) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const at = this.now();
    if (at >= session.expiresAt || at - session.lastSeenAt >= this.idleMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeenAt = at;
    return session;
  }

  /** Whether a session is still live (a stream opened under it stops once it is not). */
  isLive(id: string): boolean {
    const session = this.sessions.get(id);
    const at = this.now();
    return session !== undefined && at < session.expiresAt && at - session.lastSeenAt < this.idleMs;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.secret).update(id).digest('base64url');
  }

  private sweep(): void {
    const at = this.now();
    for (const [id, session] of this.sessions) if (at >= session.expiresAt || at - session.lastSeenAt >= this.idleMs) this.sessions.delete(id);
  }
}

/** Compares two secrets in time independent of where they differ. */
export function equalSecrets(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The cookies of a `Cookie` header, by name (the first of a repeated name). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // a malformed escape: not a cookie this service set
    }
  }
  return cookies;
}

export interface CookieOptions {
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
  path?: string;
  /** Seconds; 0 deletes the cookie; undefined: until the browser closes. */
  maxAge?: number;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path ?? '/'}`,
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(options.secure ? ['Secure'] : []),
    ...(options.maxAge !== undefined ? [`Max-Age=${options.maxAge}`] : []),
  ].join('; ');
}
