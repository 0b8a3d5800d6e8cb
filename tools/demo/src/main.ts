import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiKeyInput, DecisionMade, DeploymentRequestInput } from '@agf/contracts';
import { repositoryRoot } from '@agf/platform';
import { loadPolicyFile, registeredExperts } from '@agf/policy';

/**
 * `npm run demo`: a newcomer's first look. With the admin API key `npm start` wrote, issues the demo its
 * own credentials (a submitter key for its projects, a reviewer key for each human it plays), submits one
 * request of each kind to a running system, plays the human reviewers through the API, and prints each
 * decision as its long-poll returns it.
 */
const ROOT = repositoryRoot(__dirname);
const INTAKE = process.env['INTAKE_URL'] ?? `http://127.0.0.1:${process.env['INTAKE_PORT'] ?? 3000}`;
const KEY_FILE = resolve(ROOT, process.env['AGF_BOOTSTRAP_KEY_FILE'] || join('.agf', 'admin.key'));
const POLICY_FILE = resolve(ROOT, process.env['AGF_CONFIG'] || 'agf-config.yaml');
/** The pipeline the demo plays: requests are submitted as this subject (the requester). */
const PIPELINE = 'demo-pipeline';
const run = Date.now().toString(36);

interface Scenario {
  title: string;
  input: DeploymentRequestInput;
  /** How the scripted humans answer their assignments. */
  humans?: 'approve' | 'reject';
}

// No `requester`: intake takes it from the credential (the demo's submitter key).
const scenarios: Scenario[] = [
  {
    title: 'docs change, no trigger → PROCEED_STANDARD',
    input: { projectId: 'docs-site', componentName: 'handbook', version: `1.0.${run}`, changes: ['docs/onboarding.md'], riskIndicators: { codeChanges: 3, testsPassed: true, userImpact: 'low' } },
  },
  {
    title: 'autonomous agent finished a project (DOMINO), low risk → tier 0, automated validators',
    input: {
      projectId: 'agent-reports', componentName: 'formatter', version: `2.0.${run}`, changes: ['src/format.ts'],
      riskIndicators: { codeChanges: 12, testsPassed: true, userImpact: 'low', completionPercentage: 100 }, metadata: { completionMode: 'DOMINO' },
    },
  },
  {
    title: 'schema change affecting another project → tier 1, a human approves',
    humans: 'approve',
    input: {
      projectId: 'orders-api', componentName: 'orders', version: `3.1.${run}`, changes: ['src/orders/schema.ts'],
      riskIndicators: { codeChanges: 80, filesChanged: 5, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
    },
  },
  {
    title: 'critical auth rewrite at 100 % completion → tier 2, a strategic reviewer rejects',
    humans: 'reject',
    input: {
      projectId: 'core-platform', componentName: 'auth', version: `4.0.${run}`, changes: ['src/auth/session.ts', 'src/crypto/keys.ts'],
      riskIndicators: { codeChanges: 900, filesChanged: 40, testsPassed: true, userImpact: 'critical', securitySensitive: true, completionPercentage: 100, vulnerabilities: { high: 1 } },
    },
  },
];

/** An error worth a line on stderr and no stack trace. */
class DemoError extends Error {}

function adminKey(): string {
  const fromEnv = process.env['AGF_ADMIN_KEY']?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(KEY_FILE, 'utf8').trim();
  } catch {
    throw new DemoError(`no admin API key: set AGF_ADMIN_KEY, or start the system with \`npm start\`, which has intake write one to ${KEY_FILE}`);
  }
}

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${INTAKE}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Every key the demo issued, revoked when it ends. */
const issued: string[] = [];

/** Each run issues its own keys; they expire within the hour should the demo not get to revoke them. */
async function issueKey(admin: string, input: Omit<ApiKeyInput, 'expiresAt'>): Promise<string> {
  const response = await call('POST', '/v1/api-keys', admin, { ...input, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
  if (response.status !== 201) throw new DemoError(`POST /v1/api-keys answered ${response.status}: ${await response.text()} — is \`npm start\` running, and the admin key current?`);
  const { id, key } = (await response.json()) as { id: string; key: string };
  issued.push(id);
  return key;
}

async function revokeIssuedKeys(admin: string): Promise<void> {
  await Promise.all(issued.map(async (id) => (await call('DELETE', `/v1/api-keys/${id}`, admin)).arrayBuffer()));
}

/** The humans' reviewer keys, one per subject bound to an expert (`principal:` in agf-config.yaml), issued on first use. */
class Reviewers {
  private readonly principals = new Map(registeredExperts(loadPolicyFile(POLICY_FILE)).map((expert) => [expert.id, expert.principal]));
  private readonly keys = new Map<string, Promise<string>>();

  constructor(private readonly admin: string) {}

  /** The key of someone who may answer for the expert, or undefined when agf-config.yaml binds nobody to it. */
  keyFor(expertId: string): Promise<string> | undefined {
    const subject = this.principals.get(expertId)?.[0];
    if (!subject) return undefined;
    let key = this.keys.get(subject);
    if (!key) {
      key = issueKey(this.admin, { name: `demo reviewer ${subject}`, subject, roles: ['reviewer'], projects: [] });
      this.keys.set(subject, key);
    }
    return key;
  }
}

async function playHumans(id: string, answer: 'approve' | 'reject', submitter: string, reviewers: Reviewers): Promise<void> {
  const answered = new Set<string>();
  let rejected = false;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const view = (await (await call('GET', `/v1/deployment-requests/${id}`, submitter)).json()) as {
      status: string;
      assignments: { id: string; expertId: string; expertKind: string; status: string; role: string }[];
    };
    if (view.status === 'decided') return;
    const open = view.assignments.filter((x) => x.expertKind === 'human' && x.status === 'pending' && !answered.has(x.id));
    // The strategic reviewer answers first, whatever order the assignments are listed in (ties on assignedAt sort by id).
    open.sort((x, y) => Number(y.role === 'strategic') - Number(x.role === 'strategic'));
    for (const a of open) {
      // Once the strategic reviewer has rejected, the request is blocked: nobody else is asked.
      if (rejected) break;
      const key = reviewers.keyFor(a.expertId);
      if (!key) {
        answered.add(a.id);
        console.log(`   ${a.expertId} (${a.role}): nobody is bound to it in ${POLICY_FILE} (principal:), so the demo cannot answer`);
        continue;
      }
      const decision = answer === 'reject' && a.role === 'strategic' ? 'reject' : 'approve';
      const response = await call('POST', `/v1/deployment-requests/${id}/reviews`, await key, {
        assignmentId: a.id,
        expertId: a.expertId,
        decision,
        comments: decision === 'reject' ? 'key rotation has no migration path; add one and resubmit' : 'looks good',
      });
      console.log(`   ${a.expertId} (${a.role}) answered ${decision} → HTTP ${response.status}`);
      // A refused or failed answer is tried again on the next round.
      if (response.status >= 300) continue;
      answered.add(a.id);
      if (decision === 'reject') rejected = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Long-polls the request's decision, as a CI job would. */
async function decisionOf(id: string, submitter: string, deadline: number): Promise<DecisionMade> {
  while (Date.now() < deadline) {
    const response = await call('GET', `/v1/deployment-requests/${id}/decision?waitSeconds=20`, submitter);
    if (response.status === 200) return (await response.json()) as DecisionMade;
    if (response.status !== 202) throw new DemoError(`GET /v1/deployment-requests/${id}/decision answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  throw new DemoError(`no decision yet for ${id}`);
}

async function main(): Promise<void> {
  const admin = adminKey();
  try {
    await demonstrate(admin);
  } finally {
    await revokeIssuedKeys(admin).catch(() => console.error(`could not revoke the demo's API keys (${issued.join(', ')}); they expire within the hour`));
  }
}

async function demonstrate(admin: string): Promise<void> {
  const submitter = await issueKey(admin, { name: PIPELINE, subject: PIPELINE, roles: ['submitter'], projects: [...new Set(scenarios.map((s) => s.input.projectId))] });
  const reviewers = new Reviewers(admin);
  const deadline = Date.now() + 60_000;
  const decided: Promise<void>[] = [];
  const played: Promise<void>[] = [];
  for (const scenario of scenarios) {
    const response = await call('POST', '/v1/deployment-requests', submitter, scenario.input);
    if (response.status !== 202) throw new DemoError(`intake answered ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    console.log(`submitted ${id}: ${scenario.title}`);
    if (scenario.humans) played.push(playHumans(id, scenario.humans, submitter, reviewers).catch((error: unknown) => console.error(`   playing the reviewers of ${id}: ${(error as Error).message}`)));
    decided.push(decisionOf(id, submitter, deadline).then((decision) => print(scenario, decision)));
  }
  await Promise.all(decided);
  await Promise.all(played); // their keys are revoked next
}

function print(scenario: Scenario, d: DecisionMade): void {
  console.log(`\n■ ${scenario.title}`);
  console.log(`  ${d.outcome} (tier ${d.tierLevel}, risk ${d.riskScore.toFixed(2)}, confidence ${d.confidenceScore.toFixed(2)} ${d.confidence.level})`);
  console.log(`  triggers: ${d.triggers.map((t) => `${t.condition} (${t.reason})`).join('; ') || 'none'}`);
  console.log(`  rationale: ${d.decisionRationale}`);
  if (d.conditions.length) console.log(`  conditions: ${d.conditions.join('; ')}`);
  if (d.monitoringRequirements.length) console.log(`  monitor: ${d.monitoringRequirements.map((m) => `${m.metric} ${m.comparison} ${m.threshold}${/^[a-z]/i.test(m.unit) ? ` ${m.unit}` : m.unit} for ${m.durationMinutes} min`).join('; ')}`);
  if (d.rollbackPlan) console.log(`  rollback (${d.rollbackPlan.source}): ${d.rollbackPlan.steps.join(' → ')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof DemoError ? error.message : error instanceof TypeError && /fetch failed/.test(error.message) ? `cannot reach intake at ${INTAKE}: is \`npm start\` running?` : error);
    process.exit(1);
  },
);
