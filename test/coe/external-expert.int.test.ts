import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { type CloudEvent, createEvent, subjectFor } from '@agf/contracts';
import { aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, type TestIdentity, testIdentity } from '@agf/testing';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');

describe('external automated expert protocol (tools/example-expert)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let coe: ServiceProcess;
  let identity: TestIdentity;
  /** The expert's own credential: a workload bound to it (`principal:` in the fixture), without any role. */
  let expertCredential: string;

  beforeAll(async () => {
    identity = await testIdentity();
    expertCredential = await identity.token({ sub: 'security_agent_1', roles: ['reviewer'] });
    db = await createTestDatabase();
    nats = await TestNats.connect();
    coe = await ServiceProcess.start('coe', {
      databaseUrl: db.url,
      namespace: nats.namespace.prefix,
      env: { AGF_CONFIG: join(__dirname, '..', 'fixtures', 'agf-config.external-expert.yaml') },
    });
  });

  afterAll(async () => {
    await coe?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('sends the work to the expert on its own subject and decides from its answer', async () => {
    const request = aDeploymentRequest({ projectId: 'ext-expert', changes: ['src/auth/session.ts: TODO remove debug login'], riskIndicators: { securitySensitive: true, testsPassed: true } });
    const data = aRiskAssessment(request, { historicalScore: 0.3, confidence: 0.7 });
    const event = createEvent({ name: 'risk.assessed', source: 'test', correlationId: request.requestId, data });
    await nats.publish(subjectFor('risk.assessed', request.projectId), JSON.stringify(event), event.id);

    // The work item waits in the stream until the expert comes up: nothing is missed while it is down.
    await eventually(async () => expect(await nats.read('AGF_REVIEW', 'agf.v1.review.requested.security_agent_1')).toHaveLength(1));
    const expert = spawn(process.execPath, [join(ROOT, 'dist', 'tools', 'example-expert', 'src', 'main.js'), '--expert', 'security_agent_1', '--once'], {
      env: { ...process.env, AGF_NAMESPACE: nats.namespace.prefix, AGF_EXPERT_KEY: expertCredential },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    expert.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    expert.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => expert.once('exit', resolve));
    expect({ exitCode, output: output.join('') }).toMatchObject({ exitCode: 0 });

    const decision = await eventually(async () => {
      const found = (await nats.read('AGF_DECISION', 'agf.v1.decision.made.>')).map((m) => m.json<CloudEvent<'decision.made'>>()).filter((e) => e.data.requestId === request.requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(decision.data.outcome).toBe('BLOCK_WITH_FEEDBACK');
    expect(decision.data.decisionRationale).toContain('still marked TODO');
    expect(decision.data.expertReviews).toEqual([expect.objectContaining({ expertId: 'security_agent_1', expertKind: 'automated', decision: 'reject' })]);
    const [completed] = (await nats.read('AGF_REVIEW', 'agf.v1.review.completed.>')).map((m) => m.json<CloudEvent<'review.completed'>>());
    expect(completed!.data.actor).toEqual({ subject: 'security_agent_1', issuer: identity.issuer, channel: 'nats' });
  });

  it('tells the expert why an answer was not taken', async () => {
    const expert = spawn(process.execPath, [join(ROOT, 'dist', 'tools', 'example-expert', 'src', 'main.js'), '--expert', 'security_agent_1'], {
      env: { ...process.env, AGF_NAMESPACE: nats.namespace.prefix, AGF_EXPERT_KEY: expertCredential },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const output: string[] = [];
      expert.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      expert.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      await eventually(async () => expect(output.join('')).toContain('waiting for assignments'));
      const requestId = randomUUID();
      const data = { requestId, projectId: 'ext-expert', assignmentId: randomUUID(), expertId: 'security_agent_1', decision: 'approve' as const, comments: 'late', conditions: [], submittedAt: new Date().toISOString() };
      const answer = createEvent({ name: 'review.submit', source: 'test', correlationId: requestId, data });
      await nats.publish(subjectFor('review.submit', 'ext-expert'), JSON.stringify(answer), answer.id, { Authorization: `Bearer ${expertCredential}` });
      await eventually(async () => expect(output.join('')).toContain(`answer for ${requestId} rejected (unknown-request)`));
      // Without its credential the answer is not even looked at.
      const anonymous = createEvent({ name: 'review.submit', source: 'test', correlationId: requestId, data });
      await nats.publish(subjectFor('review.submit', 'ext-expert'), JSON.stringify(anonymous), anonymous.id);
      await eventually(async () => expect(output.join('')).toContain(`answer for ${requestId} rejected (unauthenticated)`));
    } finally {
      expert.kill('SIGTERM');
    }
  });
});
