import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { repositoryRoot } from '@agf/platform';
import { eventually, ServiceProcess } from '@agf/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { TestSystem } from '../governance/system';

jest.setTimeout(240_000);

const ROOT = repositoryRoot(__dirname);
/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH names another. The suite installs nothing itself. */
const CHROMIUM = [process.env['CHROMIUM_PATH'] ?? '', '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => path && existsSync(path));
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const maybe = CHROMIUM ? describe : describe.skip;
if (!CHROMIUM) process.stdout.write('[console] browser tests skipped: Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)\n');

/**
 * The web console in a real browser (Debian's Chromium, headless, driven by playwright-core) against the whole
 * running system: the console service in front of intake, coe, compliance and the others, on real NATS and
 * Postgres. Every person signs in with their own API key, as issued by an admin.
 */
maybe('web console in Chromium', () => {
  let system: TestSystem;
  let consoleService: ServiceProcess;
  let browser: Browser;
  let adminHeaders: Record<string, string>;
  const contexts: BrowserContext[] = [];
  let reviewedRequest = '';
  let reviewerSubject = '';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    system = await TestSystem.start('agf-config.governance.yaml');
    const services = [...system.services.values()].map((s) => `${s.name}=${s.url}`).join(',');
    consoleService = await ServiceProcess.start('console', {
      databaseUrl: system.db.url,
      namespace: system.nats.namespace.prefix,
      env: { AGF_CONFIG: join(ROOT, 'test', 'fixtures', 'agf-config.governance.yaml'), AGF_CONSOLE_SERVICE_URLS: services, AGF_CONSOLE_INBOX_POLL_MS: '500' },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    adminHeaders = await system.identity.headers({ sub: 'admin-ada', roles: ['admin'] });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await consoleService?.stop();
    await system?.stop();
  });

  const issueKey = async (subject: string, roles: string[], projects: string[] = []): Promise<string> => {
    const response = await fetch(`${system.intake}/v1/api-keys`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ name: `console test ${subject}`, subject, roles, projects }) });
    expect(response.status).toBe(201);
    return ((await response.json()) as { key: string }).key;
  };

  const newPage = async (width = 1280, height = 900): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width, height } });
    contexts.push(context);
    return context.newPage();
  };

  const signIn = async (page: Page, key: string, subject: string): Promise<void> => {
    await page.goto(`${consoleService.url}/`);
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('subject').filter({ hasText: subject }).waitFor();
  };

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  /** axe-core in the page: no serious or critical violation. */
  const expectAccessible = async (page: Page): Promise<void> => {
    // Evaluated by the browser's debugger protocol: the console's Content-Security-Policy (script-src 'self') stays on.
    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(`axe.run().then((result) => result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target) })))`);
    expect(violations).toEqual([]);
  };

  /** A tier-1 request (cross-project impact) that waits for human reviewers; answers once they are assigned. */
  const submitTier1 = async (requester: string) => {
    const id = await system.submit(
      aDeploymentRequestInput({
        projectId: 'orders-api',
        requester,
        changes: ['src/orders/schema.ts'],
        riskIndicators: { codeChanges: 60, filesChanged: 4, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
      }),
    );
    const humans = await eventually(async () => {
      const view = await system.view(id);
      const pending = view.assignments.filter((a) => a.expertKind === 'human' && a.status === 'pending');
      expect(pending.length).toBeGreaterThanOrEqual(1);
      expect(view.tierLevel).not.toBeNull();
      return pending;
    }, 30_000);
    return { id, humans };
  };

  it('refuses a wrong key (401), an API call without a session (401), and a write from another site (403)', async () => {
    const wrong = await fetch(`${consoleService.url}/console-api/session/api-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: 'agf_not-a-real-key-at-all' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await fetch(`${consoleService.url}/console-api/inbox`)).status).toBe(401);
    const crossSite = await fetch(`${consoleService.url}/console-api/session/api-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ apiKey: 'agf_whatever-key-value' }),
    });
    expect(crossSite.status).toBe(403);
    // The console's figures come from intake's read-only endpoints, under intake's own rules.
    const me = await fetch(`${system.intake}/v1/me`, { headers: await system.reviewer('architect_human') });
    expect(await me.json()).toEqual({ subject: 'architect_human', issuer: system.identity.issuer, roles: ['reviewer'], projects: [], experts: ['architect_human'] });
    expect((await fetch(`${system.intake}/v1/insights`, { headers: await system.reviewer('architect_human') })).status).toBe(403);
    const badPeriod = await fetch(`${system.intake}/v1/insights?from=yesterday`, { headers: await system.auditor() });
    expect(badPeriod.status).toBe(400);
    expect(await badPeriod.json()).toMatchObject({ errors: [{ path: 'from' }] });
    // Intake's refusals are recorded like any other refused credential.
    await eventually(async () => {
      const refused = (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<{ data: { service: string; target: string; code: string } }>().data);
      expect(refused.some((r) => r.service === 'intake' && r.target === 'GET /v1/me' && r.code === 'unauthenticated')).toBe(true);
      expect(refused.some((r) => r.service === 'intake' && r.target === 'GET /v1/insights' && r.code === 'forbidden')).toBe(true);
    });
  });

  it('signs a reviewer in with their API key and shows the assigned review in the inbox, most urgent first, counted in the title', async () => {
    const { id, humans } = await submitTier1('ci-bot');
    reviewedRequest = id;
    reviewerSubject = humans[0]!.expertId; // the fixtures bind each human expert to the subject of its id
    const key = await issueKey(reviewerSubject, ['reviewer']);
    const page = await newPage();
    await signIn(page, key, reviewerSubject);
    const row = page.getByTestId('inbox-row').filter({ has: page.locator(`a[href="/requests/${id}"]`) });
    await row.waitFor();
    await expect(page.title()).resolves.toMatch(/^\(\d+\) Review inbox/);
    // The session cookie is HttpOnly and SameSite; the page's scripts never see it.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'agf_console_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate('document.cookie')).not.toContain('agf_console_session');
    await shot(page, 'inbox');
    await expectAccessible(page);
  });

  it('opens the story, approves it, and the decision appears without a reload', async () => {
    expect(reviewedRequest).not.toBe('');
    const key = await issueKey(reviewerSubject, ['reviewer']);
    const page = await newPage();
    await signIn(page, key, reviewerSubject);
    await page.locator(`a[href="/requests/${reviewedRequest}"]`).first().click();
    await page.getByRole('heading', { level: 1, name: /orders-api/ }).waitFor();
    await page.getByTestId('timeline').getByText(/Submitted by ci-bot/).waitFor();
    await page.getByTestId('timeline').getByText(/Assigned to/).first().waitFor();
    await expect(page.getByTestId('decision').textContent()).resolves.toMatch(/Not decided yet/);
    await shot(page, 'story-before-approval');
    await expectAccessible(page);
    // A marker in the page's memory: it survives only if the page is never reloaded.
    await page.evaluate('window.stillThisPage = true');
    await page.getByRole('radio', { name: 'Approve', exact: true }).check();
    await page.getByLabel('Comment').first().fill('schema change is backwards compatible');
    await page.getByRole('button', { name: 'Approve', exact: true }).first().click();
    await page.getByText(/Your answer was sent/).first().waitFor();
    // Any other human asked answers through the API, so that the decision can be made.
    const others = (await system.view(reviewedRequest)).assignments.filter((a) => a.expertKind === 'human' && a.status === 'pending' && a.expertId !== reviewerSubject);
    for (const other of others) {
      expect((await system.review(reviewedRequest, { assignmentId: other.id, expertId: other.expertId, decision: 'approve', comments: 'fine by me' })).status).toBe(202);
    }
    await page.getByTestId('decision').getByText(/PROCEED_WITH_MONITORING/).waitFor({ timeout: 60_000 });
    expect(await page.evaluate('window.stillThisPage')).toBe(true);
    await page.getByTestId('timeline').getByText(/Decision: PROCEED_WITH_MONITORING/).waitFor();
    // The answer is the reviewer's own: the audit trail names them, as intake authenticated their key.
    const trail = await eventually(async () => {
      const entries = await system.auditTrail(reviewedRequest);
      expect(entries.some((e) => e.eventType === 'io.agf.review.submit.v1')).toBe(true);
      return entries;
    });
    expect(trail.find((e) => e.eventType === 'io.agf.review.submit.v1')!.payload.data.actor).toMatchObject({ subject: reviewerSubject, channel: 'http' });
    await shot(page, 'story-decided');
    // The review is no longer in the inbox.
    await page.getByRole('link', { name: 'Review inbox' }).click();
    await eventually(async () => expect(await page.locator(`a[href="/requests/${reviewedRequest}"]`).count()).toBe(0));
  });

  it("shows the requester no approve button on their own request, and the API refuses their answer (403)", async () => {
    const { id, humans } = await submitTier1('req-rita');
    const key = await issueKey('req-rita', ['submitter', 'reviewer'], ['orders-api']);
    const page = await newPage();
    await signIn(page, key, 'req-rita');
    await page.goto(`${consoleService.url}/requests/${id}`);
    await page.getByTestId('own-request-note').waitFor();
    expect(await page.getByRole('button', { name: /Approve|rejection/ }).count()).toBe(0);
    await shot(page, 'requester-own-request');
    const answers = await page.evaluate(
      async ({ requestId, assignment }) => {
        const session = (await (await fetch('/console-api/session')).json()) as { csrfToken: string };
        const body = JSON.stringify({ assignmentId: assignment.id, expertId: assignment.expertId, decision: 'approve', comments: 'my own change is fine' });
        const post = (headers: Record<string, string>) => fetch(`/console-api/requests/${requestId}/reviews`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
        const withoutToken = await post({});
        const withToken = await post({ 'x-csrf-token': session.csrfToken });
        return { withoutToken: withoutToken.status, withToken: withToken.status, reason: ((await withToken.json()) as { detail?: string }).detail };
      },
      { requestId: id, assignment: { id: humans[0]!.id, expertId: humans[0]!.expertId } },
    );
    // Without the CSRF token the console refuses; with it, intake itself refuses the requester.
    expect(answers).toMatchObject({ withoutToken: 403, withToken: 403 });
    expect((await system.view(id)).reviews.filter((r) => r.expertId === humans[0]!.expertId)).toHaveLength(0);
  });

  it('renders the executive, technical and CoE dashboards and the escalation queue from the real requests', async () => {
    // A request decided at once, deployed and reported as rolled back: an outcome for the change failure rate.
    const quick = await system.submit(aDeploymentRequestInput({ projectId: 'docs-site', changes: ['docs/intro.md'], riskIndicators: { codeChanges: 3, filesChanged: 1, testsPassed: true, userImpact: 'low' } }));
    await system.decision(quick);
    // Intake takes an outcome once its read model holds the decision (a moment after the event).
    await eventually(async () => {
      const outcome = await fetch(`${system.intake}/v1/deployment-requests/${quick}/outcome`, { method: 'POST', headers: await system.submitter('docs-site'), body: JSON.stringify({ status: 'rolled_back' }) });
      expect(outcome.status).toBe(202);
    });
    const key = await issueKey('auditor-ann', ['auditor', 'admin']);
    const page = await newPage();
    await signIn(page, key, 'auditor-ann');

    await page.getByRole('link', { name: 'Executive' }).click();
    await page.getByRole('heading', { name: 'Executive dashboard' }).waitFor();
    await eventually(async () => {
      expect(Number(await page.getByTestId('tile-decisions').textContent())).toBeGreaterThanOrEqual(2);
      expect(await page.getByTestId('outcome-chart').getAttribute('aria-label')).toMatch(/PROCEED_STANDARD \d+.*|.*PROCEED_WITH_MONITORING \d+/);
      expect(await page.getByTestId('project-table').textContent()).toMatch(/docs-site.*100\.0 %/s);
    }, 20_000);
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    await shot(page, 'executive');
    await expectAccessible(page);

    await page.getByRole('link', { name: 'Technical' }).click();
    await page.getByTestId('service-health').getByText('intake').waitFor();
    await eventually(async () => {
      expect(await page.getByTestId('service-health').locator('tr', { hasText: 'coe' }).textContent()).toMatch(/ready/);
      expect(Number(await page.getByTestId('decisions-total').textContent())).toBeGreaterThanOrEqual(2);
      expect(await page.getByTestId('consumer-lag').textContent()).toMatch(/AGF_DECISION/);
    }, 20_000);
    await shot(page, 'technical');
    await expectAccessible(page);

    await page.getByRole('link', { name: 'CoE' }).click();
    // The reviewer who approved: one answer, no longer open, against the fixture's capacity of 10.
    await eventually(async () => {
      const cells = await page.getByTestId('experts').getByRole('row', { name: new RegExp(`^${reviewerSubject} `) }).locator('td').allTextContents();
      expect(cells[1]).toMatch(/^\d+ \/ 10$/); // load / capacity
      expect(cells[3]).toBe('1'); // answered in the period
      expect(cells[4]).toMatch(/^\d+(\.\d)? (s|min) \/ /); // answer time p50 / p90
    }, 20_000);
    await shot(page, 'coe');
    await expectAccessible(page);

    await page.getByRole('link', { name: 'Escalations' }).click();
    await page.getByRole('heading', { name: 'Escalations' }).waitFor();
    await page.getByText(/No request waits on an escalation|earliest due first/).first().waitFor();
    await shot(page, 'escalations');
    await expectAccessible(page);

    // The auditor's story of the rolled-back request shows the reported outcome, from the audit trail.
    await page.goto(`${consoleService.url}/requests/${quick}`);
    await page.getByTestId('outcome').getByText('rolled_back').waitFor({ timeout: 20_000 });
    // The auditor's story shows the audit trail with the chain's verification.
    await page.goto(`${consoleService.url}/requests/${reviewedRequest}`);
    await page.getByTestId('chain-status').getByText(/verified/).waitFor({ timeout: 20_000 });
    await shot(page, 'story-audit');
  });

  it('is usable at 390 px wide: no sideways scrolling, a new assignment appears live in the open inbox, navigation by keyboard', async () => {
    const key = await issueKey(reviewerSubject, ['reviewer']);
    const page = await newPage(390, 844);
    await signIn(page, key, reviewerSubject);
    await page.getByRole('heading', { name: 'Review inbox' }).waitFor();
    await page.getByTestId('inbox-count').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // A new assignment appears while the inbox is open, without a reload, and the title counts it.
    await page.evaluate('window.stillThisPage = true');
    const before = (await page.title()).match(/^\((\d+)\)/)?.[1] ?? '0';
    const { id, humans } = await submitTier1('ci-bot');
    if (humans.some((h) => h.expertId === reviewerSubject)) {
      await page.locator(`a[href="/requests/${id}"]`).waitFor({ timeout: 30_000 });
      await eventually(async () => expect(await page.title()).toBe(`(${Number(before) + 1}) Review inbox — AGF console`));
      expect(await page.evaluate('window.stillThisPage')).toBe(true);
    } else {
      process.stdout.write(`[console] live inbox check not made: the CoE assigned ${humans.map((h) => h.expertId).join(', ')}, not ${reviewerSubject}\n`);
    }
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(page, 'inbox-390');
    const auditorKey = await issueKey('auditor-ann', ['auditor', 'admin']);
    const narrow = await newPage(390, 844);
    await signIn(narrow, auditorKey, 'auditor-ann');
    // Keyboard only: tab to the Executive link and follow it.
    for (let i = 0; i < 8 && !(await narrow.evaluate("document.activeElement?.textContent === 'Executive'")); i += 1) await narrow.keyboard.press('Tab');
    await narrow.keyboard.press('Enter');
    await narrow.getByRole('heading', { name: 'Executive dashboard' }).waitFor();
    await narrow.locator('.recharts-bar-rectangle').first().waitFor();
    expect(await narrow.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot(narrow, 'executive-390');
    await expectAccessible(narrow);
  });
});
