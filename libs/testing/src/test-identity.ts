import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Role } from '@agf/contracts';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface TestPrincipal {
  sub: string;
  roles?: Role[];
  /** Project ids, or `*`. */
  projects?: string[];
  /** Any other claims (groups, say). */
  claims?: Record<string, unknown>;
}

export interface TokenOptions {
  /** Seconds from now; negative for a token that has already expired. */
  expiresIn?: number;
  audience?: string;
  issuer?: string;
  notBefore?: number;
}

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** The audience the services are told to expect from test tokens. */
export const TEST_AUDIENCE = 'agf-test';

/**
 * A real OpenID issuer for tests, served over HTTP from the test process: discovery and a JWKS of an RSA key it
 * generated, and RS256 tokens for whatever principal a test needs. Services started by `ServiceProcess` are
 * pointed at it (`AGF_OIDC_ISSUER`, `AGF_OIDC_AUDIENCE`), so tests never need a stored secret.
 */
export class TestIdentity {
  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    private readonly signingKey: KeyPair,
    private readonly publicJwks: JWK[],
  ) {}

  static async start(): Promise<TestIdentity> {
    const signingKey = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(signingKey.publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
    const jwks: JWK[] = [jwk];
    let issuer = '';
    const server = createServer((req, res) => {
      const body =
        req.url === '/.well-known/openid-configuration'
          ? { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] }
          : req.url === '/jwks'
            ? { keys: jwks }
            : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? { error: 'not found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new TestIdentity(server, issuer, signingKey, jwks);
  }

  /** What a service needs to trust this issuer. */
  get env(): Record<string, string> {
    return { AGF_OIDC_ISSUER: this.issuer, AGF_OIDC_AUDIENCE: TEST_AUDIENCE };
  }

  async token(principal: TestPrincipal, options: TokenOptions = {}): Promise<string> {
    return this.sign(principal, options, this.signingKey.privateKey, 'test-key-1');
  }

  /** `{ authorization: 'Bearer …' }` for fetch, or a NATS header value. */
  async bearer(principal: TestPrincipal, options: TokenOptions = {}): Promise<string> {
    return `Bearer ${await this.token(principal, options)}`;
  }

  async headers(principal: TestPrincipal, options: TokenOptions = {}): Promise<Record<string, string>> {
    return { authorization: await this.bearer(principal, options), 'content-type': 'application/json' };
  }

  /** A token signed with a key this issuer never published (what an attacker with their own key produces). */
  async tokenSignedByAnotherKey(principal: TestPrincipal, kid = 'test-key-1'): Promise<string> {
    const stranger = await generateKeyPair('RS256');
    return this.sign(principal, {}, stranger.privateKey, kid);
  }

  /** Adds a second signing key to the JWKS (key rotation): tokens signed by it name a `kid` services have not cached. */
  async rotate(): Promise<(principal: TestPrincipal) => Promise<string>> {
    const next = await generateKeyPair('RS256', { extractable: true });
    const kid = `test-key-${this.publicJwks.length + 1}`;
    this.publicJwks.push({ ...(await exportJWK(next.publicKey)), kid, alg: 'RS256', use: 'sig' });
    return (principal) => this.sign(principal, {}, next.privateKey, kid);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async sign(principal: TestPrincipal, options: TokenOptions, key: KeyPair['privateKey'], kid: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ agf_roles: principal.roles ?? [], agf_projects: principal.projects ?? [], ...principal.claims })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setSubject(principal.sub)
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? TEST_AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(options.notBefore ?? now - 1)
      .setExpirationTime(now + (options.expiresIn ?? 600))
      .sign(key);
  }
}

let shared: Promise<TestIdentity> | undefined;

/** The one issuer of this test process; `ServiceProcess` points every service it starts at it. */
export function testIdentity(): Promise<TestIdentity> {
  return (shared ??= TestIdentity.start());
}
