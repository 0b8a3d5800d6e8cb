import { hashApiKey, looksLikeApiKey, type Principal, principalFromClaims } from '@agf/access-domain';
import type { AuthPolicy } from '@agf/policy';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ApiKeyReplica } from './api-key-replica';
import { VerifiedTokens } from './verified-tokens';

export interface OidcSettings {
  issuer: string;
  audience: string;
}

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

/** Asymmetric algorithms only: `none` and the HMAC family (whose key is a shared secret) are never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Turns a bearer credential into a principal: an AGF API key (`agf_…`) through this process's key replica, or
 * an OIDC JWT verified against the issuer's JWKS (signature, `iss`, `aud`, `exp`, `nbf` with a small skew).
 * The JWKS is fetched on first use, cached, and fetched again when a token names a key it does not hold.
 */
export class Authenticator {
  private jwks?: Promise<JWTVerifyGetKey>;
  private readonly verified = new VerifiedTokens({ maxEntries: 1000, maxAgeMs: 60_000 });

  constructor(
    private readonly keys: ApiKeyReplica,
    private readonly oidc: OidcSettings | undefined,
    private readonly claims: AuthPolicy,
  ) {}

  /** `Authorization` header value (HTTP or NATS) → principal, or why not. */
  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (!authorization) return { ok: false, reason: 'no credential: send Authorization: Bearer <API key or token>' };
    const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    if (!match) return { ok: false, reason: 'expected Authorization: Bearer <API key or token>' };
    const credential = match[1]!;
    return looksLikeApiKey(credential) ? this.apiKey(credential) : this.token(credential);
  }

  private async apiKey(key: string): Promise<Authentication> {
    await this.keys.ready;
    const found = this.keys.find(hashApiKey(key));
    if (!found) return { ok: false, reason: 'unknown, revoked or expired API key' };
    return { ok: true, principal: { subject: found.subject, apiKeyId: found.keyId, roles: found.roles, projects: found.projects } };
  }

  private async token(jwt: string): Promise<Authentication> {
    if (!this.oidc) return { ok: false, reason: 'not an AGF API key, and no OIDC issuer is configured (AGF_OIDC_ISSUER)' };
    const known = this.verified.principalOf(jwt);
    if (known) return { ok: true, principal: known };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, await this.keySet(), {
        issuer: this.oidc.issuer,
        audience: this.oidc.audience,
        algorithms: ALGORITHMS,
        clockTolerance: this.claims.clock_skew_seconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      this.forgetFailedDiscovery(error);
      return { ok: false, reason: `invalid token: ${describeJoseError(error)}` };
    }
    const principal = principalFromClaims(payload, this.oidc.issuer, this.claims);
    if (!principal) return { ok: false, reason: 'invalid token: no usable sub claim' };
    // `exp` is a required claim, so jose has checked it is a number.
    this.verified.remember(jwt, principal, ((payload['exp'] as number) + this.claims.clock_skew_seconds) * 1000);
    return { ok: true, principal };
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    return (this.jwks ??= discoverJwks(this.oidc!.issuer));
  }

  /** A failed discovery is tried again with the next token rather than cached for ever. */
  private forgetFailedDiscovery(error: unknown): void {
    if (error instanceof DiscoveryError) this.jwks = undefined;
  }
}

class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

async function discoverJwks(issuer: string): Promise<JWTVerifyGetKey> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (error) {
    throw new DiscoveryError(`OIDC discovery at ${url} failed: ${(error as Error).message}`);
  }
  if (document.issuer !== issuer) throw new DiscoveryError(`OIDC discovery at ${url} names issuer ${String(document.issuer)}, not ${issuer}`);
  if (typeof document.jwks_uri !== 'string') throw new DiscoveryError(`OIDC discovery at ${url} has no jwks_uri`);
  // An unknown `kid` (the provider rotated its keys) fetches the JWKS again, at most once per cooldown, so
  // tokens with made-up kids cannot make AGF hammer the provider.
  return createRemoteJWKSet(new URL(document.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 5000, cacheMaxAge: 10 * 60_000 });
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason === 'check_failed' ? 'does not match' : error.reason}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'signed with an unknown key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof DiscoveryError) return error.message;
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'malformed';
}
