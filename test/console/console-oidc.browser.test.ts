import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '@agf/platform';
import { createTestDatabase, freePort, ServiceProcess, type TestDatabase, TestNats } from '@agf/testing';
import { type Browser, chromium } from 'playwright-core';

jest.setTimeout(180_000);

const ROOT = repositoryRoot(__dirname);
const CHROMIUM = [process.env['CHROMIUM_PATH'] ?? '', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => path && existsSync(path));
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const AUDIENCE = 'agf-console-oidc-test';

const maybe = CHROMIUM ? describe : describe.skip;
if (!CHROMIUM) process.stdout.write('[console] OIDC browser test skipped: Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)\n');

/**
 * Sign-in with OIDC (authorization code + PKCE) against a real OpenID provider (`oidc-provider`), with intake
 * trusting that provider's tokens: the console's access token is checked by intake like any other token.
 */
maybe('web console: OIDC sign-in in Chromium', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  let consoleService: ServiceProcess;
  let provider: ChildProcess;
  let browser: Browser;
  const providerOutput: string[] = [];
  let issuer = '';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const providerPort = await freePort();
    issuer = `http://127.0.0.1:${providerPort}`;
    db = await createTestDatabase();
    nats = await TestNats.connect();
    const oidcEnv = { AGF_OIDC_ISSUER: issuer, AGF_OIDC_AUDIENCE: AUDIENCE, AGF_CONFIG: join(ROOT, 'test', 'fixtures', 'agf-config.governance.yaml') };
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: oidcEnv });
    consoleService = await ServiceProcess.start('console', {
      databaseUrl: db.url,
      namespace: nats.namespace.prefix,
      env: { ...oidcEnv, AGF_CONSOLE_SERVICE_URLS: `intake=${intake.url}`, AGF_CONSOLE_OIDC_CLIENT_ID: 'agf-console', AGF_CONSOLE_OIDC_RESOURCE: 'urn:agf' },
    });
    const redirectUri = `http://localhost:${consoleService.port}/console-api/oidc/callback`;
    provider = spawn(process.execPath, [join(__dirname, 'oidc-provider-server.mjs'), String(providerPort), redirectUri, AUDIENCE], { stdio: ['ignore', 'pipe', 'pipe'] });
    provider.stderr?.on('data', (chunk: Buffer) => providerOutput.push(chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      provider.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      provider.once('exit', (code) => reject(new Error(`oidc-provider exited with ${code}: ${providerOutput.join('')}`)));
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });

  afterAll(async () => {
    await browser?.close();
    provider?.kill('SIGTERM');
    await consoleService?.stop();
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('signs in at the provider with PKCE and lands in the console as the subject the access token names', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`http://localhost:${consoleService.port}/`);
    const authorizationRequest = page.waitForRequest((request) => request.url().startsWith(`${issuer}/auth`));
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    // The authorization request carried an S256 code challenge, a state and a nonce.
    const authorization = new URL((await authorizationRequest).url());
    expect(authorization.searchParams.get('nonce')).toBeTruthy();
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorization.searchParams.get('state')).toBeTruthy();
    await page.locator('input[name="login"]').fill('oidc-reviewer');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.getByTestId('subject').filter({ hasText: 'oidc-reviewer' }).waitFor({ timeout: 30_000 });
    await page.getByText('(reviewer)').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'oidc-signed-in.png'), fullPage: true });
    const cookie = (await context.cookies()).find((c) => c.name === 'agf_console_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // A replayed callback (the code and state again) signs no one in: the transaction is used up.
    const replay = await context.request.get(`http://localhost:${consoleService.port}/console-api/oidc/callback?code=used&state=${authorization.searchParams.get('state')}`);
    expect(replay.status()).toBe(400);
    await context.close();
  });
});
