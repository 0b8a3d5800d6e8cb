import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type CloudEvent, type DecisionMade, RolloutView } from '@agf/contracts';
import { aDecision, aDeploymentRequestInput } from '@agf/contracts/testing';
import { eventually } from '@agf/testing';
import { parse, stringify } from 'yaml';
import { TestSystem } from '../governance/system';
import { run } from '../cli/agf';
import { HttpReceivers } from '../notify/receivers';
import { prometheusInstalled, PROMETHEUS_BINARY, TestExporter, TestPrometheus } from './prometheus-server';

jest.setTimeout(240_000);

const FIXTURES = join(__dirname, '..', 'fixtures');
const WEBHOOK_TOKEN = 'flagger-token-0123456789abcdef';
const withPrometheus = prometheusInstalled();
if (!withPrometheus) process.stdout.write(`[rollout] the Prometheus pull test is skipped: no Prometheus binary at ${PROMETHEUS_BINARY} (apt install prometheus, or set AGF_TEST_PROMETHEUS)\n`);

/** The whole system plus rollout and notify: fast evaluations, a webhook route for rollbacks, Prometheus where installed. */
describe('rollout guard in the whole system', () => {
  let system: TestSystem;
  let http: HttpReceivers;
  let exporter: TestExporter | undefined;
  let prometheus: TestPrometheus | undefined;
  let dir: string;

  beforeAll(async () => {
    http = await HttpReceivers.start();
    if (withPrometheus) {
      exporter = await TestExporter.start();
      exporter.set('prom-svc', 0.001);
      prometheus = await TestPrometheus.start(exporter.target);
    }
    const config = parse(readFileSync(join(FIXTURES, 'agf-config.governance.yaml'), 'utf8')) as Record<string, unknown>;
    config['notifications'] = {
      channels: [{ name: 'oncall', kind: 'webhook', url: http.url('/oncall'), secret: 'rollout-test-webhook-secret' }],
      routes: [{ events: ['rollback'], channels: ['oncall'] }],
    };
    config['rollout'] = {
      evaluation_interval_seconds: 2,
      signal_max_age_seconds: 60,
      inconclusive_limit: 3,
      // One minute, so that the rollback's own SLA (warning at 45 s, breach at 60 s) can be seen here; the default is 15.
      rollback_target_minutes: 1,
      emergency: { evaluation_interval_seconds: 1, signal_max_age_seconds: 30, inconclusive_limit: 2, threshold_factor: 0.5 },
      ...(prometheus ? { prometheus: { url: prometheus.url, timeout_seconds: 3, projects: { 'prom-api': { error_rate: 'max(agf_test_error_ratio{component="$component"})', deployment_health_score: 'vector(1)' } } } } : {}),
    };
    dir = mkdtempSync(join(tmpdir(), 'agf-rollout-'));
    const configPath = join(dir, 'agf-config.yaml');
    writeFileSync(configPath, stringify(config));
    system = await TestSystem.start(relative(FIXTURES, configPath), { services: ['rollout', 'notify'], env: { AGF_ROLLOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, AGF_ROLLOUT_TICK_MS: '200' } });
  });

  afterAll(async () => {
    await system?.stop();
    await Promise.all([http?.stop(), prometheus?.stop(), exporter?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rolloutUrl = (): string => system.services.get('rollout')!.url;

  async function report(id: string, body: unknown, headers?: Record<string, string>): Promise<Response> {
    return fetch(`${rolloutUrl()}/v1/deployment-requests/${id}/rollout`, { method: 'POST', headers: headers ?? (await system.submitter(projectOf.get(id)!)), body: JSON.stringify(body) });
  }

  async function signal(id: string, name: string, value: number, at = new Date()): Promise<Response> {
    return fetch(`${rolloutUrl()}/v1/deployment-requests/${id}/signals`, { method: 'POST', headers: await system.submitter(projectOf.get(id)!), body: JSON.stringify({ name, value, at: at.toISOString() }) });
  }

  async function status(id: string): Promise<RolloutView> {
    const response = await fetch(`${rolloutUrl()}/v1/deployment-requests/${id}/rollout`, { headers: await system.auditor() });
    expect(response.status).toBe(200);
    return RolloutView.parse(await response.json());
  }

  const flagger = (hook: 'confirm-promotion' | 'rollback', id: string, token = WEBHOOK_TOKEN) =>
    fetch(`${rolloutUrl()}/v1/rollout-gates/flagger/${hook}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ignored-when-request-id-given', namespace: 'prod', phase: 'Progressing', checksum: 'abc', metadata: { requestId: id, token } }),
    });

  const argo = async (id: string) => fetch(`${rolloutUrl()}/v1/rollout-gates/argo/verdict?requestId=${id}`, { headers: await system.auditor() });

  const projectOf = new Map<string, string>();

  /** Submits a low-risk change (tier 0, decided at once) and waits for its approval. */
  async function approvedRequest(projectId: string, componentName: string, metadata: Record<string, unknown> = {}): Promise<CloudEvent<'decision.made'>> {
    const id = await system.submit(aDeploymentRequestInput({ projectId, componentName, changes: ['docs/readme.md'], riskIndicators: { codeChanges: 4, filesChanged: 1, testsPassed: true, userImpact: 'low' }, metadata }));
    projectOf.set(id, projectId);
    const decision = await system.decision(id);
    expect(decision.data.approved).toBe(true);
    // The rollout service keeps its own replica of decisions: wait until it knows this one.
    await eventually(async () => expect((await status(id)).approved).toBe(true), 20_000, 200);
    return decision;
  }

  /** A reading that passes each of the decision's criteria. */
  async function pushHealthy(decision: DecisionMade): Promise<void> {
    for (const m of decision.monitoringRequirements) {
      const [name, value] =
        m.metric === 'http_error_rate' ? ['error_rate', 0.001] : m.metric === 'http_latency_p99' ? ['latency_p99_ms', 120] : [m.metric, m.comparison === 'above' ? 0 : m.unit === 'ratio' ? 1 : m.threshold * 2];
      expect((await signal(decision.requestId, name as string, value as number)).status).toBe(202);
    }
  }

  const rolloutEvents = async <N extends 'rollout.evaluated' | 'rollout.progressed' | 'rollback.requested' | 'rollback.completed'>(name: N, id: string) =>
    (await system.nats.read('AGF_ROLLOUT', `agf.v1.${name}.>`)).map((m) => m.json<CloudEvent<N>>()).filter((e) => e.data.requestId === id);

  it('a pushed-signal rollout that stays healthy is re-assessed every interval, passes the gates, and completes', async () => {
    const decision = (await approvedRequest('docs-site', 'handbook')).data;
    const id = decision.requestId;
    const started = await report(id, { phase: 'started', percent: 10 });
    expect(started.status).toBe(200);
    expect(RolloutView.parse(await started.json())).toMatchObject({ status: 'in-progress', percent: 10, emergency: false, evaluationIntervalSeconds: 2 });
    await pushHealthy(decision);

    const healthy = await eventually(async () => {
      const view = await status(id);
      expect(view.verdict).toBe('healthy');
      return view;
    }, 20_000, 250);
    expect(healthy.criteria.every((c) => c.status === 'pass')).toBe(true);
    // Each evaluation is a new revision of the assessment, with the live signals as a factor.
    const evaluations = await eventually(async () => {
      const found = await rolloutEvents('rollout.evaluated', id);
      expect(found.length).toBeGreaterThanOrEqual(2);
      return found;
    }, 20_000, 250);
    expect(evaluations.map((e) => e.data.revision)).toEqual(evaluations.map((_, i) => i + 1));
    const last = evaluations.at(-1)!.data;
    expect(last).toMatchObject({ verdict: 'healthy', preDeploymentScore: decision.riskScore });
    expect(last.riskFactors.join(' ')).toMatch(/live signals healthy/);
    expect(Date.parse(evaluations[1]!.data.evaluatedAt) - Date.parse(evaluations[0]!.data.evaluatedAt)).toBeGreaterThanOrEqual(1500);

    // Flagger: promote (200), do not roll back (403); Argo: the verdict as JSON.
    const promote = await flagger('confirm-promotion', id);
    expect(promote.status).toBe(200);
    expect(await promote.json()).toMatchObject({ verdict: 'healthy', action: 'promote', requestId: id });
    expect((await flagger('rollback', id)).status).toBe(403);
    const verdict = await argo(id);
    expect(verdict.status).toBe(200);
    expect(await verdict.json()).toMatchObject({ requestId: id, verdict: 'healthy', healthy: true, failing: false, status: 'in-progress' });

    expect((await report(id, { phase: 'progressing', percent: 50 })).status).toBe(200);
    const completed = await report(id, { phase: 'completed', percent: 100 });
    expect(completed.status).toBe(200);
    expect(await completed.json()).toMatchObject({ status: 'completed', percent: 100 });
    // The same report again changes nothing; a different one is refused.
    expect((await report(id, { phase: 'completed' })).status).toBe(200);
    const late = await report(id, { phase: 'progressing' });
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const phases = (await rolloutEvents('rollout.progressed', id)).map((e) => e.data.phase);
    expect(phases).toEqual(['started', 'progressing', 'completed']);
    expect(http.at('/oncall', id)).toEqual([]);
  });

  it('an error rate crossing the threshold requests a rollback within 60 s: event, notification, gates, incident outcome; the next request scores higher', async () => {
    const first = (await approvedRequest('shop-api', 'cart')).data;
    const id = first.requestId;
    expect(first.monitoringRequirements.find((m) => m.metric === 'http_error_rate')).toBeDefined();
    expect((await report(id, { phase: 'started' })).status).toBe(200);
    await pushHealthy(first);
    await eventually(async () => expect((await status(id)).verdict).toBe('healthy'), 20_000, 250);

    const failingAt = new Date();
    const pushed = await signal(id, 'error_rate', 0.2, failingAt);
    expect(pushed.status).toBe(202);
    expect(await pushed.json()).toMatchObject({ status: 'rollback-requested', verdict: 'failing' });

    const [requested] = await eventually(async () => {
      const found = await rolloutEvents('rollback.requested', id);
      expect(found).toHaveLength(1);
      return found;
    }, 60_000, 200);
    expect(requested!.subject).toBe(id);
    expect(requested!.data).toMatchObject({ projectId: 'shop-api', componentName: 'cart', requester: 'ci-bot', signalAt: failingAt.toISOString() });
    expect(requested!.data.failedCriteria).toEqual([expect.objectContaining({ metric: 'http_error_rate', signal: 'error_rate', observed: 20, status: 'fail' })]);
    expect(Date.parse(requested!.time) - failingAt.getTime()).toBeLessThan(60_000);
    expect(Date.parse(requested!.data.dueAt) - Date.parse(requested!.data.requestedAt)).toBe(60_000);

    // On-call hears of it, as a critical notification.
    const [notified] = await eventually(() => {
      const found = http.at('/oncall', id).filter((r) => r.json['event'] === 'rollback');
      expect(found).toHaveLength(1);
      return found;
    }, 30_000, 200);
    expect(notified!.json).toMatchObject({ type: 'io.agf.notification.rollback.v1', severity: 'critical', stage: 'requested', requestId: id, projectId: 'shop-api' });
    expect(Date.parse(String(notified!.json['occurredAt'])) - failingAt.getTime()).toBeLessThan(60_000);

    // Flagger is told to roll back and not to promote; Argo's metric fails.
    expect((await flagger('rollback', id)).status).toBe(200);
    const hold = await flagger('confirm-promotion', id);
    expect(hold.status).toBe(403);
    expect(await hold.json()).toMatchObject({ verdict: 'failing', action: 'hold' });
    expect(await (await argo(id)).json()).toMatchObject({ verdict: 'failing', failing: true, status: 'rollback-requested' });

    // The incident is the request's outcome, which learning takes.
    const outcomes = await eventually(async () => {
      const found = (await system.nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.outcome.>')).map((m) => m.json<CloudEvent<'deployment.outcome'>>()).filter((e) => e.data.requestId === id);
      expect(found).toHaveLength(1);
      return found;
    }, 30_000, 200);
    expect(outcomes[0]).toMatchObject({ source: 'agf/rollout', data: { status: 'rolled_back', details: { source: 'agf-rollout-guard' } } });
    await eventually(async () => {
      const updates = (await system.nats.read('AGF_LEARNING', 'agf.v1.learning.model.updated.>')).map((m) => m.json<CloudEvent<'learning.model.updated'>>());
      expect(updates.some((u) => u.data.componentName === 'cart' && u.data.cause.requestId === id && u.data.component.rollbacks === 1)).toBe(true);
    }, 30_000, 250);

    // A rollout that must roll back cannot go on; the rollback's confirmation closes its timeline.
    const goOn = await report(id, { phase: 'progressing', percent: 50 });
    expect(goOn.status).toBe(409);
    expect(await goOn.json()).toMatchObject({ status: 409, type: expect.stringMatching(/\/rollback-requested$/) });
    expect((await report(id, { phase: 'rolled-back' })).status).toBe(200);
    const [completed] = await eventually(async () => {
      const found = await rolloutEvents('rollback.completed', id);
      expect(found).toHaveLength(1);
      return found;
    }, 20_000, 200);
    expect(completed!.data).toMatchObject({ confirmedBy: 'rolled-back', withinTarget: true });
    expect((await status(id)).rollback).toMatchObject({ withinTarget: true, completedAt: expect.any(String) });
    // The rollback's timeline is in the request's audit trail.
    await eventually(async () => {
      const types = (await system.auditTrail(id)).map((e) => e.eventType);
      expect(types).toEqual(expect.arrayContaining(['io.agf.rollout.progressed.v1', 'io.agf.rollout.evaluated.v1', 'io.agf.rollback.requested.v1', 'io.agf.deployment.outcome.v1', 'io.agf.rollback.completed.v1']));
    }, 30_000, 250);

    // The next request for the same component scores higher because of the incident.
    const riskOf = async (requestId: string) =>
      eventually(async () => {
        const found = (await system.nats.read('AGF_RISK', 'agf.v1.risk.assessed.>')).map((m) => m.json<CloudEvent<'risk.assessed'>>()).filter((e) => e.data.requestId === requestId);
        expect(found.length).toBeGreaterThanOrEqual(1);
        return found.at(-1)!.data;
      }, 30_000, 200);
    const before = await riskOf(id);
    const nextId = await system.submit(aDeploymentRequestInput({ projectId: 'shop-api', componentName: 'cart', version: '1.4.3', changes: ['docs/readme.md'], riskIndicators: { codeChanges: 4, filesChanged: 1, testsPassed: true, userImpact: 'low' } }));
    const after = await riskOf(nextId);
    expect(after.historicalScore).toBeGreaterThan(before.historicalScore);
    expect(after.overallScore).toBeGreaterThan(before.overallScore);
    expect(after.analyzers.historical.factors.join(' ')).toMatch(/rollback/);
  });

  it('missing signals give inconclusive evaluations, then a pause (an emergency request: tighter interval and limit)', async () => {
    const decision = (await approvedRequest('ops-tools', 'runner', { priority: 'critical' })).data;
    const id = decision.requestId;
    const started = await report(id, { phase: 'started' });
    expect(await started.json()).toMatchObject({ emergency: true, evaluationIntervalSeconds: 1 });

    const paused = await eventually(async () => {
      const view = await status(id);
      expect(view.status).toBe('paused');
      return view;
    }, 20_000, 200);
    expect(paused.verdict).toBe('inconclusive');
    expect(paused.consecutiveInconclusive).toBeGreaterThanOrEqual(2);
    expect(paused.criteria.every((c) => c.status === 'no-data')).toBe(true);
    const evaluations = await rolloutEvents('rollout.evaluated', id);
    expect(evaluations.slice(0, 2).map((e) => e.data.verdict)).toEqual(['inconclusive', 'inconclusive']);
    expect(evaluations[0]!.data.liveScore).toBeGreaterThan(evaluations[0]!.data.preDeploymentScore);
    expect(evaluations[0]!.data.riskFactors[0]).toMatch(/no fresh live signal/);
    const pause = (await rolloutEvents('rollout.progressed', id)).find((e) => e.data.phase === 'paused');
    expect(pause?.data.reason).toMatch(/2 inconclusive evaluations in a row/);
    // Argo sees inconclusive; Flagger holds the promotion and does not roll back.
    expect(await (await argo(id)).json()).toMatchObject({ verdict: 'inconclusive', healthy: false, failing: false });
    expect((await flagger('confirm-promotion', id)).status).toBe(403);
    expect((await flagger('rollback', id)).status).toBe(403);

    const complete = await report(id, { phase: 'completed' });
    expect(complete.status).toBe(409);
    expect(await complete.json()).toMatchObject({ status: 409, type: expect.stringMatching(/\/paused$/) });
    // Someone decides to go on, with signals now: it resumes.
    await pushHealthy(decision);
    expect(await (await report(id, { phase: 'progressing', percent: 30 })).json()).toMatchObject({ status: 'in-progress', consecutiveInconclusive: 0 });
    await eventually(async () => expect((await status(id)).verdict).toBe('healthy'), 20_000, 200);
  });

  it('refuses what it must: an unapproved or undecided request, bad input, strangers, a wrong Flagger token', async () => {
    // A blocked decision, as coe would publish it.
    const blockedId = randomUUID();
    projectOf.set(blockedId, 'docs-site');
    await system.nats.publishEvent('decision.made', aDecision({ requestId: blockedId, projectId: 'docs-site', outcome: 'BLOCK_WITH_FEEDBACK', approved: false }), { correlationId: blockedId, source: 'coe' });
    await eventually(async () => expect((await status(blockedId)).approved).toBe(false), 20_000, 200);
    const refused = await report(blockedId, { phase: 'started' });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ status: 409, type: expect.stringMatching(/\/not-approved$/) });
    expect((await status(blockedId)).status).toBe('not-started');

    // In shadow mode AGF only watches: the blocked request's rollout is guarded all the same, and says so.
    const shadowId = randomUUID();
    projectOf.set(shadowId, 'docs-site');
    await system.nats.publishEvent('decision.made', aDecision({ requestId: shadowId, projectId: 'docs-site', componentName: 'shadowed', outcome: 'BLOCK_WITH_FEEDBACK', approved: false, shadow: true }), { correlationId: shadowId, source: 'coe' });
    await eventually(async () => expect((await status(shadowId)).projectId).toBe('docs-site'), 20_000, 200);
    expect((await report(shadowId, { phase: 'started' })).status).toBe(200);
    expect((await rolloutEvents('rollout.progressed', shadowId))[0]?.data.reason).toMatch(/shadow mode: AGF would have refused/);

    const unknown = randomUUID();
    projectOf.set(unknown, 'docs-site');
    expect((await report(unknown, { phase: 'started' })).status).toBe(404);

    const decision = (await approvedRequest('docs-site', 'guard-input')).data;
    const id = decision.requestId;
    expect((await signal(id, 'error_rate', 0.5)).status).toBe(409); // not started: nothing to guard yet
    for (const body of [{ phase: 'launched' }, { phase: 'started', percent: 120 }, { phase: 'started', extra: 1 }, []]) {
      const response = await report(id, body);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await fetch(`${rolloutUrl()}/v1/deployment-requests/${id}/rollout`, { method: 'POST', body: '{"phase":"started"}' })).status).toBe(401);
    expect((await report(id, { phase: 'started' }, await system.submitter('other-project', 'stranger'))).status).toBe(404);
    expect((await report(id, { phase: 'started' }, await system.auditor())).status).toBe(403);
    expect((await report(id, { phase: 'started' })).status).toBe(200);
    const badSignal = await fetch(`${rolloutUrl()}/v1/deployment-requests/${id}/signals`, { method: 'POST', headers: await system.submitter('docs-site'), body: JSON.stringify({ name: 'Error Rate', value: 'high' }) });
    expect(badSignal.status).toBe(400);
    expect((await signal(id, 'error_rate', 0.001, new Date(Date.now() + 3600_000))).status).toBe(400);
    expect((await flagger('rollback', id, 'wrong-token-0123456789')).status).toBe(401);
    const noToken = await fetch(`${rolloutUrl()}/v1/rollout-gates/flagger/rollback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'guard-input' }) });
    expect(noToken.status).toBe(401);
    // Flagger names the canary, not the request: the component's newest rollout answers.
    const byName = await fetch(`${rolloutUrl()}/v1/rollout-gates/flagger/rollback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'guard-input', namespace: 'prod', metadata: { projectId: 'docs-site', token: WEBHOOK_TOKEN } }) });
    expect(byName.status).toBe(403);
    expect(await byName.json()).toMatchObject({ requestId: id });
    expect((await fetch(`${rolloutUrl()}/v1/rollout-gates/argo/verdict?requestId=${id}`, { headers: await system.submitter('other-project', 'stranger') })).status).toBe(404);

    // Every refusal was recorded for the audit trail.
    await eventually(async () => {
      const refusals = (await system.nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data).filter((r) => r.service === 'rollout');
      expect(refusals.map((r) => r.code).sort()).toEqual(expect.arrayContaining(['forbidden', 'not-visible', 'unauthenticated']));
    }, 20_000, 250);
  });

  it('a rollback not confirmed in time warns at 75 % of its target and escalates when it passes', async () => {
    const decision = (await approvedRequest('late-api', 'late-svc')).data;
    const id = decision.requestId;
    expect((await report(id, { phase: 'started' })).status).toBe(200);
    expect(await (await signal(id, 'error_rate', 0.5)).json()).toMatchObject({ status: 'rollback-requested' });
    const escalations = await eventually(async () => {
      const found = (await system.nats.read('AGF_ROLLOUT', 'agf.v1.rollback.escalated.>')).map((m) => m.json<CloudEvent<'rollback.escalated'>>()).filter((e) => e.data.requestId === id);
      expect(found.map((e) => e.data.stage)).toEqual(['warning', 'breached']);
      return found;
    }, 100_000, 500);
    const [warning, breached] = escalations.map((e) => e.data);
    const requestedAt = Date.parse(warning!.requestedAt);
    expect(Date.parse(warning!.firedAt) - requestedAt).toBeGreaterThanOrEqual(45_000);
    expect(Date.parse(breached!.firedAt)).toBeGreaterThanOrEqual(Date.parse(breached!.dueAt));
    await eventually(() => {
      const stages = http.at('/oncall', id).filter((r) => r.json['event'] === 'rollback').map((r) => `${String(r.json['stage'])}:${String(r.json['severity'])}`);
      expect(stages.sort()).toEqual(['breached:critical', 'requested:critical', 'warning:critical']);
    }, 30_000, 250);
    expect((await report(id, { phase: 'aborted' })).status).toBe(200);
    const [completed] = await eventually(async () => {
      const found = await rolloutEvents('rollback.completed', id);
      expect(found).toHaveLength(1);
      return found;
    }, 20_000, 200);
    expect(completed!.data).toMatchObject({ confirmedBy: 'aborted', withinTarget: false });
    expect(completed!.data.durationSeconds).toBeGreaterThan(60);
  });

  it('agf rollout: start, signal, status with its exit codes, rolled-back', async () => {
    const decision = (await approvedRequest('cli-api', 'cli-svc')).data;
    const id = decision.requestId;
    const token = (await system.submitter('cli-api')).authorization!.replace(/^Bearer /, '');
    const cli = (args: string[]) => run(['rollout', ...args], { cwd: dir, env: { AGF_TOKEN: token, AGF_ROLLOUT_URL: rolloutUrl() } });

    const started = await cli(['start', id, '--percent', '5']);
    expect(started).toMatchObject({ code: 0 });
    expect(started.stdout).toContain(`${id}: rollout in-progress at 5 %`);
    expect((await cli(['status', id])).code).toBe(2); // not evaluated yet, or inconclusive
    await pushHealthy(decision);
    await eventually(async () => expect((await cli(['status', id])).code).toBe(0), 20_000, 300);

    const failing = await cli(['signal', id, 'error_rate', '0.3']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('rollback-requested');
    const status = await run(['--json', 'rollout', 'status', id], { cwd: dir, env: { AGF_TOKEN: token, AGF_ROLLOUT_URL: rolloutUrl() } });
    expect(status.code).toBe(1);
    expect(RolloutView.parse(JSON.parse(status.stdout))).toMatchObject({ status: 'rollback-requested', rollback: { reason: expect.stringContaining('error_rate') } });
    expect((await cli(['rolled-back', id])).code).toBe(0);

    expect((await cli(['start', randomUUID()])).code).toBe(3);
    expect((await cli(['signal', id, 'error_rate', 'high'])).code).toBe(3);
    expect((await run(['rollout', 'status', id], { cwd: dir, env: { AGF_TOKEN: token, AGF_ROLLOUT_URL: 'http://127.0.0.1:9' } })).code).toBe(4);
  });

  (withPrometheus ? it : it.skip)('pulls signals from a real Prometheus every interval and rolls back when the query crosses the threshold', async () => {
    const decision = (await approvedRequest('prom-api', 'prom-svc')).data;
    const id = decision.requestId;
    // Every criterion of the decision is answered by a query (a new project's history asks for deployment_health_score too).
    expect(decision.monitoringRequirements.map((m) => m.metric).filter((m) => m !== 'http_error_rate' && m !== 'deployment_health_score')).toEqual([]);
    expect((await report(id, { phase: 'started' })).status).toBe(200);
    const healthy = await eventually(async () => {
      const view = await status(id);
      expect(view.verdict).toBe('healthy');
      return view;
    }, 30_000, 250);
    expect(healthy.signals).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'error_rate', value: 0.001, source: 'prometheus' })]));

    const failingAt = Date.now();
    exporter!.set('prom-svc', 0.25);
    const [requested] = await eventually(async () => {
      const found = await rolloutEvents('rollback.requested', id);
      expect(found).toHaveLength(1);
      return found;
    }, 60_000, 250);
    expect(Date.parse(requested!.time) - failingAt).toBeLessThan(60_000);
    expect(requested!.data.failedCriteria).toEqual([expect.objectContaining({ signal: 'error_rate', observed: 25 })]);
  });
});
