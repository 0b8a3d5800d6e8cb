import { type CloudEvent, type DeploymentRequestInput, parseEvent } from '@agf/contracts';
import { Namespace } from '@agf/messaging';
import { connect } from '@nats-io/transport-node';

/**
 * `npm run demo`: a newcomer's first look. Submits one request of each kind to a running system
 * (`npm start`), plays the human reviewers through the API, and prints each decision as it arrives on
 * `agf.v1.decision.made.>`.
 */
const INTAKE = process.env['INTAKE_URL'] ?? `http://127.0.0.1:${process.env['INTAKE_PORT'] ?? 3000}`;
const namespace = new Namespace(process.env['AGF_NAMESPACE'] ?? '');
const run = Date.now().toString(36);

interface Scenario {
  title: string;
  input: DeploymentRequestInput;
  /** How the scripted humans answer their assignments. */
  humans?: 'approve' | 'reject';
}

const scenarios: Scenario[] = [
  {
    title: 'docs change, no trigger → PROCEED_STANDARD',
    input: { projectId: 'docs-site', componentName: 'handbook', version: `1.0.${run}`, changes: ['docs/onboarding.md'], requester: 'ci-bot', riskIndicators: { codeChanges: 3, testsPassed: true, userImpact: 'low' } },
  },
  {
    title: 'autonomous agent finished a project (DOMINO), low risk → tier 0, automated validators',
    input: {
      projectId: 'agent-reports', componentName: 'formatter', version: `2.0.${run}`, changes: ['src/format.ts'], requester: 'autonomous_agent',
      riskIndicators: { codeChanges: 12, testsPassed: true, userImpact: 'low', completionPercentage: 100 }, metadata: { completionMode: 'DOMINO' },
    },
  },
  {
    title: 'schema change affecting another project → tier 1, a human approves',
    humans: 'approve',
    input: {
      projectId: 'orders-api', componentName: 'orders', version: `3.1.${run}`, changes: ['src/orders/schema.ts'], requester: 'ci-bot',
      riskIndicators: { codeChanges: 80, filesChanged: 5, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
    },
  },
  {
    title: 'critical auth rewrite at 100 % completion → tier 2, a strategic reviewer rejects',
    humans: 'reject',
    input: {
      projectId: 'core-platform', componentName: 'auth', version: `4.0.${run}`, changes: ['src/auth/session.ts', 'src/crypto/keys.ts'], requester: 'autonomous_agent',
      riskIndicators: { codeChanges: 900, filesChanged: 40, testsPassed: true, userImpact: 'critical', securitySensitive: true, completionPercentage: 100, vulnerabilities: { high: 1 } },
    },
  },
];

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${INTAKE}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function playHumans(id: string, answer: 'approve' | 'reject'): Promise<void> {
  const answered = new Set<string>();
  let rejected = false;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const view = (await (await fetch(`${INTAKE}/v1/deployment-requests/${id}`)).json()) as {
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
      const decision = answer === 'reject' && a.role === 'strategic' ? 'reject' : 'approve';
      if (decision === 'reject') rejected = true;
      const response = await post(`/v1/deployment-requests/${id}/reviews`, {
        assignmentId: a.id,
        expertId: a.expertId,
        decision,
        comments: decision === 'reject' ? 'key rotation has no migration path; add one and resubmit' : 'looks good',
      });
      answered.add(a.id);
      console.log(`   ${a.expertId} (${a.role}) answered ${decision} → HTTP ${response.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

async function main(): Promise<void> {
  const nc = await connect({ servers: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222' });
  const pending = new Map<string, Scenario>();
  // A decision can arrive before its request's 202 has been read here (tier 0 takes milliseconds): kept until then.
  const early = new Map<string, CloudEvent<'decision.made'>>();
  let allSubmitted = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const settle = (requestId: string, event: CloudEvent<'decision.made'>): void => {
    const scenario = pending.get(requestId);
    if (!scenario) return void early.set(requestId, event);
    pending.delete(requestId);
    print(scenario, event);
    if (allSubmitted && !pending.size) finish();
  };
  nc.subscribe(namespace.subject('agf.v1.decision.made.>'), {
    callback: (_error, msg) => {
      const parsed = parseEvent('decision.made', msg.json());
      if (parsed.ok) settle(parsed.value.data.requestId, parsed.value);
    },
  });
  for (const scenario of scenarios) {
    const response = await post('/v1/deployment-requests', scenario.input);
    if (response.status !== 202) throw new Error(`intake answered ${response.status}: ${await response.text()} — is \`npm start\` running?`);
    const { id } = (await response.json()) as { id: string };
    pending.set(id, scenario);
    console.log(`submitted ${id}: ${scenario.title}`);
    const decided = early.get(id);
    if (decided) settle(id, decided);
    else if (scenario.humans) void playHumans(id, scenario.humans);
  }
  allSubmitted = true;
  if (!pending.size) finish();
  const timeout = setTimeout(() => {
    console.error(`no decision yet for ${[...pending.values()].map((s) => s.title).join('; ')}`);
    process.exit(1);
  }, 60_000);
  await done;
  clearTimeout(timeout);
  await nc.close();
}

function print(scenario: Scenario, event: CloudEvent<'decision.made'>): void {
  const d = event.data;
  console.log(`\n■ ${scenario.title}`);
  console.log(`  ${d.outcome} (tier ${d.tierLevel}, risk ${d.riskScore.toFixed(2)}, confidence ${d.confidenceScore.toFixed(2)} ${d.confidence.level})`);
  console.log(`  triggers: ${d.triggers.map((t) => `${t.condition} (${t.reason})`).join('; ') || 'none'}`);
  console.log(`  rationale: ${d.decisionRationale}`);
  if (d.conditions.length) console.log(`  conditions: ${d.conditions.join('; ')}`);
  if (d.monitoringRequirements.length) console.log(`  monitor: ${d.monitoringRequirements.map((m) => `${m.metric} ${m.comparison} ${m.threshold}${/^[a-z]/i.test(m.unit) ? ` ${m.unit}` : m.unit} for ${m.durationMinutes} min`).join('; ')}`);
  if (d.rollbackPlan) console.log(`  rollback (${d.rollbackPlan.source}): ${d.rollbackPlan.steps.join(' → ')}`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
