import { createTestDatabase, eventually, ServiceProcess, TEST_AUDIENCE, type TestDatabase, testIdentity, type TestIdentity, TestNats } from '@agf/testing';
import { type AccessRefused, type CloudEvent } from '@agf/contracts';
import { SignJWT, generateKeyPair } from 'jose';

/**
 * OIDC bearer tokens against a real service (sla) and a real JWKS served by the test's own issuer: what
 * verifies, and every way a token can be wrong. Each refusal is a 401 problem and a `security.refused` event.
 */
describe('OIDC bearer tokens', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let sla: ServiceProcess;
  let idp: TestIdentity;
  const metricsReader = { sub: 'prometheus', roles: ['metrics' as const] };

  beforeAll(async () => {
    idp = await testIdentity();
    db = await createTestDatabase();
    nats = await TestNats.connect();
    sla = await ServiceProcess.start('sla', { databaseUrl: db.url, namespace: nats.namespace.prefix });
  }, 60_000);

  afterAll(async () => {
    await sla?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  const scrape = (authorization?: string) => fetch(`${sla.url}/metrics`, authorization ? { headers: { authorization } } : {});

  async function expectUnauthorized(authorization: string | undefined, detail: RegExp): Promise<void> {
    const response = await scrape(authorization);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({ status: 401, type: 'https://agf.dev/problems/unauthenticated', detail: expect.stringMatching(detail) });
  }

  /** A token as an attacker would build it: header and claims of their choosing, signature of their choosing. */
  function handMade(header: object, claims: object, signature = ''): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part(header)}.${part(claims)}.${signature}`;
  }

  function validClaims() {
    const now = Math.floor(Date.now() / 1000);
    return { sub: 'prometheus', agf_roles: ['metrics'], iss: idp.issuer, aud: TEST_AUDIENCE, iat: now, exp: now + 600 };
  }

  it('lets a valid token through', async () => {
    expect((await scrape(await idp.bearer(metricsReader))).status).toBe(200);
  });

  it('takes a token just past exp or before nbf within the clock skew (30 s)', async () => {
    expect((await scrape(await idp.bearer(metricsReader, { expiresIn: -10 }))).status).toBe(200);
    expect((await scrape(await idp.bearer(metricsReader, { notBefore: Math.floor(Date.now() / 1000) + 10 }))).status).toBe(200);
  });

  it('refuses a token it accepted once as soon as the token expires (exp + skew), although it remembers verified tokens', async () => {
    const expiring = await idp.bearer(metricsReader, { expiresIn: -27 }); // accepted for about 3 more seconds
    expect((await scrape(expiring)).status).toBe(200);
    expect((await scrape(expiring)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await expectUnauthorized(expiring, /expired/);
  });

  it.each([
    ['no Authorization header', async () => undefined, /no credential/],
    ['a scheme other than Bearer', async () => `Basic ${Buffer.from('a:b').toString('base64')}`, /expected Authorization: Bearer/],
    ['an expired token', async () => idp.bearer(metricsReader, { expiresIn: -120 }), /expired/],
    ['a token not yet valid', async () => idp.bearer(metricsReader, { notBefore: Math.floor(Date.now() / 1000) + 600 }), /nbf/],
    ['a token for another audience', async () => idp.bearer(metricsReader, { audience: 'some-other-api' }), /claim aud/],
    ['a token from another issuer', async () => idp.bearer(metricsReader, { issuer: 'https://evil.example' }), /claim iss/],
    ['a token signed by a key the issuer never published', async () => `Bearer ${await idp.tokenSignedByAnotherKey(metricsReader)}`, /bad signature/],
    ['a token with a kid the JWKS does not have', async () => `Bearer ${await idp.tokenSignedByAnotherKey(metricsReader, 'no-such-kid')}`, /unknown key/],
    ['alg: none', async () => `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, validClaims())}`, /algorithm not allowed|malformed/],
    [
      'HS256 signed with the public key as the secret (algorithm confusion)',
      async () => {
        const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Array<{ n: string }> };
        const secret = new TextEncoder().encode(jwks.keys[0]!.n);
        return `Bearer ${await new SignJWT(validClaims()).setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' }).sign(secret)}`;
      },
      /algorithm not allowed/,
    ],
    [
      'a tampered token (roles raised after signing)',
      async () => {
        const [header, , signature] = (await idp.token({ sub: 'prometheus', roles: [] })).split('.');
        const raised = Buffer.from(JSON.stringify({ ...validClaims(), agf_roles: ['admin', 'auditor', 'metrics'] })).toString('base64url');
        return `Bearer ${header}.${raised}.${signature}`;
      },
      /bad signature/,
    ],
    ['garbage', async () => 'Bearer not.a.token', /malformed|invalid token/],
    ['an unknown API key', async () => 'Bearer agf_thisKeyWasNeverIssuedByAnyoneAtAllxxxxxxxxxx', /unknown, revoked or expired API key/],
  ])('refuses %s with 401', async (_case, authorization, detail) => {
    await expectUnauthorized(await authorization(), detail);
  });

  it('answers 403 to a valid principal without the role, and 401 before 403 for a bad credential', async () => {
    const response = await scrape(await idp.bearer({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] }));
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ type: 'https://agf.dev/problems/forbidden', detail: 'requires the role admin or auditor or metrics' });
  });

  it('fetches the JWKS again for a kid it has not seen (key rotation)', async () => {
    const signWithNewKey = await idp.rotate();
    // jose fetches again at most once per 5 s cooldown; the unknown-kid case above may have just used it.
    await eventually(async () => expect((await scrape(`Bearer ${await signWithNewKey(metricsReader)}`)).status).toBe(200), 15_000, 500);
  }, 20_000);

  it('refuses a token of an issuer whose keys another issuer holds: the configured issuer alone is trusted', async () => {
    const stranger = await generateKeyPair('RS256');
    const forged = await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', jku: 'http://127.0.0.1:1/jwks' }).sign(stranger.privateKey);
    await expectUnauthorized(`Bearer ${forged}`, /bad signature/);
  });

  it('records every refusal as a security.refused event for the audit trail', async () => {
    await eventually(async () => {
      const refusals = (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data as AccessRefused);
      expect(refusals.filter((r) => r.code === 'unauthenticated').length).toBeGreaterThanOrEqual(14);
      expect(refusals).toContainEqual(expect.objectContaining({ service: 'sla', code: 'forbidden', channel: 'http', target: 'GET /metrics', actor: expect.objectContaining({ subject: 'ci-bot', issuer: idp.issuer }) }));
      expect(refusals.every((r) => r.service === 'sla' && r.clientAddress)).toBe(true);
    }, 10_000, 250);
  });

  it('keeps the probes open, and they reveal no host, user or driver error', async () => {
    const ready = await fetch(`${sla.url}/health/ready`);
    expect(ready.status).toBe(200);
    const text = await ready.text();
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|4222|5432|postgres:\/\//);
    expect((await fetch(`${sla.url}/health/live`)).status).toBe(200);
  });
});
