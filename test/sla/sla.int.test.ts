import { randomUUID } from 'node:crypto';
import { type CloudEvent, cloudEventSchema, type EventName, type PayloadOf, subjectFor } from '@agf/contracts';
import { aDecision } from '@agf/contracts/testing';
import { timerEventId } from '@agf/sla-domain';
import { createTestDatabase, eventually, ServiceProcess, type TestDatabase, TestNats, testIdentity } from '@agf/testing';

jest.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Fired {
  subject: string;
  msgId: string;
  event: CloudEvent<'sla.warning'>;
}

/** A pipeline-like driver: publishes CoE's events into one namespace and reads what the SLA service fired. */
class SlaDriver {
  constructor(readonly nats: TestNats) {}

  publish<N extends EventName>(name: N, data: PayloadOf<N>, correlationId: string): Promise<CloudEvent<N>> {
    return this.nats.publishEvent(name, data, { correlationId, source: 'coe' });
  }

  /** review.assigned with an SLA of `slaMs` milliseconds from now (fractional hours). */
  async assign(slaMs: number, ids: { requestId?: string; assignmentId?: string; supersedes?: string } = {}): Promise<CloudEvent<'review.assigned'>> {
    const requestId = ids.requestId ?? randomUUID();
    const assignedAt = new Date();
    return this.publish(
      'review.assigned',
      {
        requestId,
        projectId: 'sla-project',
        assignmentId: ids.assignmentId ?? randomUUID(),
        expertId: 'security_expert_human',
        expertType: 'security',
        expertKind: 'human',
        role: 'standard',
        scope: ['risk_assessment'],
        tierLevel: 1,
        priority: 'normal',
        slaHours: slaMs / 3_600_000,
        assignedAt: assignedAt.toISOString(),
        slaDueAt: new Date(assignedAt.getTime() + slaMs).toISOString(),
        ...(ids.supersedes ? { supersedesAssignmentId: ids.supersedes } : {}),
      },
      requestId,
    );
  }

  async complete(requestId: string, assignmentId: string): Promise<void> {
    await this.publish(
      'review.completed',
      {
        requestId,
        projectId: 'sla-project',
        assignmentId,
        expertId: 'security_expert_human',
        expertType: 'security',
        expertKind: 'human',
        decision: 'approve',
        comments: 'looks fine',
        conditions: [],
        confidence: 0.9,
        completedAt: new Date().toISOString(),
      },
      requestId,
    );
  }

  /** What the CoE publishes for each assignment still open when it decides the request. */
  async cancelAsDecided(requestId: string, assignmentId: string): Promise<void> {
    await this.publish('review.cancelled', { requestId, projectId: 'sla-project', assignmentId, expertId: 'security_expert_human', reason: 'decided', cancelledAt: new Date().toISOString() }, requestId);
  }

  async fired(requestId?: string): Promise<Fired[]> {
    const messages = await this.nats.read('AGF_SLA');
    return messages
      .map((m) => ({ subject: m.subject, msgId: m.headers['Nats-Msg-Id'] ?? '', event: m.json<CloudEvent<'sla.warning'>>() }))
      .filter((f) => !requestId || f.event.data.requestId === requestId);
  }
}

interface TimerView {
  assignmentId: string;
  kind: 'warning' | 'breached';
  status: 'scheduled' | 'fired' | 'cancelled';
  cancelReason: string | null;
  dueAt: string;
  firedAt: string | null;
}

/** An operator's view of the timers (admin or auditor). */
async function operator(roles: Array<'admin' | 'auditor'> = ['auditor']): Promise<Record<string, string>> {
  return (await testIdentity()).headers({ sub: 'ops', roles });
}

async function timersOf(service: ServiceProcess, requestId: string): Promise<TimerView[]> {
  const response = await fetch(`${service.url}/v1/timers?requestId=${requestId}`, { headers: await operator() });
  expect(response.status).toBe(200);
  return ((await response.json()) as { timers: TimerView[] }).timers;
}

async function firedCount(service: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`, { headers: await operator() })).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('agf_sla_timers_fired_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('sla service (real NATS JetStream and Postgres)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let sla: ServiceProcess;
  let driver: SlaDriver;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    sla = await ServiceProcess.start('sla', { databaseUrl: db.url, namespace: nats.namespace.prefix });
    driver = new SlaDriver(nats);
  });

  afterAll(async () => {
    await sla?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('warns at 75 % and breaches at 100 % of a 2 s SLA, each exactly once and within 1 s of its due time', async () => {
    const assigned = await driver.assign(2000);
    const { requestId, assignmentId } = assigned.data;

    const fired = await eventually(async () => {
      const found = await driver.fired(requestId);
      expect(found).toHaveLength(2);
      return found;
    }, 10_000);
    // Nothing more arrives later.
    await sleep(2500);
    expect(await driver.fired(requestId)).toHaveLength(2);

    const [warning, breach] = fired;
    expect(warning!.subject).toBe('agf.v1.sla.warning.sla-project');
    expect(breach!.subject).toBe('agf.v1.sla.breached.sla-project');
    const start = Date.parse(assigned.data.assignedAt);
    for (const [f, fraction] of [[warning!, 0.75], [breach!, 1]] as const) {
      const event = cloudEventSchema(fraction === 1 ? 'sla.breached' : 'sla.warning').parse(f.event) as CloudEvent<'sla.warning'>;
      expect(event).toMatchObject({ source: 'agf/sla', correlationid: requestId, causationid: assigned.id });
      expect(event.data).toMatchObject({ requestId, assignmentId, projectId: 'sla-project', expertId: 'security_expert_human', tierLevel: 1, fraction });
      expect(Date.parse(event.data.dueAt)).toBe(start + fraction * 2000);
      const lag = Date.parse(event.data.firedAt) - Date.parse(event.data.dueAt);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(1000);
      expect(f.msgId).toBe(timerEventId(assignmentId, fraction === 1 ? 'breached' : 'warning'));
      expect(f.msgId).toBe(event.id);
    }

    const timers = await timersOf(sla, requestId);
    expect(timers.map((t) => [t.kind, t.status])).toEqual([['warning', 'fired'], ['breached', 'fired']]);
  });

  it('fires nothing for an assignment reviewed before its timers are due', async () => {
    const assigned = await driver.assign(2000);
    const { requestId, assignmentId } = assigned.data;
    await eventually(async () => expect(await timersOf(sla, requestId)).toHaveLength(2));
    await driver.complete(requestId, assignmentId);
    await eventually(async () => {
      expect((await timersOf(sla, requestId)).map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
    });
    await sleep(3000);
    expect(await driver.fired(requestId)).toHaveLength(0);
  });

  it('fires nothing when review.completed arrives before review.assigned', async () => {
    const requestId = randomUUID();
    const assignmentId = randomUUID();
    await driver.complete(requestId, assignmentId);
    await sleep(300);
    await driver.assign(1500, { requestId, assignmentId });
    // Stored (so the assignment was handled), but cancelled from the start.
    await eventually(async () => {
      const timers = await timersOf(sla, requestId);
      expect(timers.map((t) => [t.status, t.cancelReason])).toEqual([['cancelled', 'review completed'], ['cancelled', 'review completed']]);
    });
    await sleep(2500);
    expect(await driver.fired(requestId)).toHaveLength(0);
  });

  it("reads no decision: a request's timers stop with the CoE's review.cancelled, not with decision.made", async () => {
    const consumers: string[] = [];
    for await (const consumer of nats.jsm.consumers.list(nats.namespace.stream('AGF_DECISION'))) consumers.push(consumer.name);
    expect(consumers.filter((name) => name.startsWith('sla'))).toEqual([]);
    const requestId = randomUUID();
    // Due in a minute: nothing fires while the test looks, so every status seen is the events' doing.
    const open = await driver.assign(60_000, { requestId });
    await eventually(async () => expect(await timersOf(sla, requestId)).toHaveLength(2));
    await driver.publish('decision.made', aDecision({ requestId, projectId: 'sla-project', componentName: 'payments', version: '1.2.3', outcome: 'PROCEED_STANDARD', riskScore: 0.2 }), requestId);
    await sleep(500);
    expect((await timersOf(sla, requestId)).map((t) => t.status)).toEqual(['scheduled', 'scheduled']);
    await driver.cancelAsDecided(requestId, open.data.assignmentId);
    await eventually(async () => expect((await timersOf(sla, requestId)).map((t) => [t.status, t.cancelReason])).toEqual(Array(2).fill(['cancelled', 'review cancelled: decided'])));
  });

  it('cancels the timers of an assignment the CoE cancelled (review.cancelled), in either order of the two events', async () => {
    const requestId = randomUUID();
    const cancel = (assignmentId: string) => driver.cancelAsDecided(requestId, assignmentId);
    const before = await driver.assign(1500, { requestId });
    await eventually(async () => expect(await timersOf(sla, requestId)).toHaveLength(2));
    await cancel(before.data.assignmentId);
    // Cancelled before it was announced (another stream, another order): stored cancelled.
    const lateId = randomUUID();
    await cancel(lateId);
    await sleep(300);
    await driver.assign(1500, { requestId, assignmentId: lateId });
    await eventually(async () => {
      const timers = await timersOf(sla, requestId);
      expect(timers).toHaveLength(4);
      expect(timers.map((t) => [t.status, t.cancelReason])).toEqual(Array(4).fill(['cancelled', 'review cancelled: decided']));
    });
    await sleep(2000);
    expect(await driver.fired(requestId)).toHaveLength(0);
  });

  it("times a break-glass approval's after-the-fact review, assigned after the decision that cancelled the open one", async () => {
    const requestId = randomUUID();
    const reviewAfter = randomUUID();
    const open = await driver.assign(60_000, { requestId });
    await eventually(async () => expect(await timersOf(sla, requestId)).toHaveLength(2));
    // The CoE's decision transaction: the open review cancelled, the decision, then the review after the fact.
    await driver.cancelAsDecided(requestId, open.data.assignmentId);
    await driver.publish(
      'decision.made',
      {
        ...aDecision({ requestId, projectId: 'sla-project', componentName: 'payments', version: '1.2.3', outcome: 'PROCEED_STANDARD', riskScore: 0.2 }),
        emergency: { justification: 'outage', approvedBy: { subject: 'erin', channel: 'http' }, afterTheFactReview: { assignmentId: reviewAfter, expertId: 'oversight_board_1', slaDueAt: new Date(Date.now() + 1500).toISOString() } },
      },
      requestId,
    );
    await driver.assign(1500, { requestId, assignmentId: reviewAfter });
    // Only the after-the-fact review's two timers fire; the open review's stopped with its cancellation.
    await eventually(async () => expect((await driver.fired(requestId)).map((f) => f.event.data.assignmentId)).toEqual([reviewAfter, reviewAfter]), 10_000);
    expect((await timersOf(sla, requestId)).filter((t) => t.assignmentId === open.data.assignmentId).map((t) => t.cancelReason)).toEqual(['review cancelled: decided', 'review cancelled: decided']);
  });

  it('cancels timers whose review, decision or replacement arrives together with their assignment (one batch)', async () => {
    const [reviewed, decided, replaced] = [randomUUID(), randomUUID(), randomUUID()];
    const reviewedAssignment = randomUUID();
    const replacedAssignment = randomUUID();
    // Published back to back, so that they are likely to share the service's transactions.
    await Promise.all([
      driver.assign(1500, { requestId: reviewed, assignmentId: reviewedAssignment }).then(() => driver.complete(reviewed, reviewedAssignment)),
      driver.assign(1500, { requestId: decided }).then((assigned) => driver.cancelAsDecided(decided, assigned.data.assignmentId)),
      driver.assign(1500, { requestId: replaced, assignmentId: replacedAssignment }).then(() => driver.assign(1500, { requestId: replaced, supersedes: replacedAssignment })),
    ]);
    await eventually(async () => {
      expect((await timersOf(sla, reviewed)).map((t) => [t.status, t.cancelReason])).toEqual([['cancelled', 'review completed'], ['cancelled', 'review completed']]);
      expect((await timersOf(sla, decided)).map((t) => [t.status, t.cancelReason])).toEqual([['cancelled', 'review cancelled: decided'], ['cancelled', 'review cancelled: decided']]);
      const replacedTimers = await timersOf(sla, replaced);
      expect(replacedTimers.filter((t) => t.assignmentId === replacedAssignment).map((t) => [t.status, t.cancelReason])).toEqual([['cancelled', 'superseded'], ['cancelled', 'superseded']]);
    });
    // Only the replacement's own two timers fire.
    await eventually(async () => expect(await driver.fired(replaced)).toHaveLength(2), 10_000);
    await sleep(1000);
    expect(await driver.fired(reviewed)).toHaveLength(0);
    expect(await driver.fired(decided)).toHaveLength(0);
    expect((await driver.fired(replaced)).every((f) => f.event.data.assignmentId !== replacedAssignment)).toBe(true);
  });

  it('schedules a replayed review.assigned only once', async () => {
    const assigned = await driver.assign(1500);
    // The same event again under another Nats-Msg-Id, as a redelivery past the duplicate window would be.
    await nats.publish(subjectFor('review.assigned', 'sla-project'), JSON.stringify(assigned), randomUUID());
    await eventually(async () => expect(await driver.fired(assigned.data.requestId)).toHaveLength(2), 10_000);
    await sleep(1500);
    expect(await driver.fired(assigned.data.requestId)).toHaveLength(2);
    expect(await timersOf(sla, assigned.data.requestId)).toHaveLength(2);
  });

  it('rejects a malformed requestId query with problem+json', async () => {
    const response = await fetch(`${sla.url}/v1/timers?requestId=not-a-uuid`, { headers: await operator(['admin']) });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });

  it('shows the timers to admins and auditors only', async () => {
    const url = `${sla.url}/v1/timers?requestId=${randomUUID()}`;
    expect((await fetch(url, { headers: await operator(['admin']) })).status).toBe(200);
    const identity = await testIdentity();
    expect((await fetch(url, { headers: await identity.headers({ sub: 'ci-bot', roles: ['submitter', 'reviewer'], projects: ['*'] }) })).status).toBe(403);
    expect((await fetch(url)).status).toBe(401);
  });
});

describe('sla timers survive a crash', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let sla: ServiceProcess;
  let driver: SlaDriver;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    sla = await ServiceProcess.start('sla', { databaseUrl: db.url, namespace: nats.namespace.prefix });
    driver = new SlaDriver(nats);
  });

  afterAll(async () => {
    await sla?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('fires timers that fell due while the service was down once on start-up', async () => {
    const assigned = await driver.assign(2500);
    const { requestId } = assigned.data;
    await eventually(async () => expect(await timersOf(sla, requestId)).toHaveLength(2));
    await sla.kill();
    await sleep(3500);
    expect(await driver.fired(requestId)).toHaveLength(0);

    await sla.restart();
    const fired = await eventually(async () => {
      const found = await driver.fired(requestId);
      expect(found).toHaveLength(2);
      return found;
    }, 10_000);
    await sleep(1500);
    expect(await driver.fired(requestId)).toHaveLength(2);
    // Both were overdue at once: the scheduler's claim loops may take them in separate transactions, so they
    // can be published in either order (consumers do not depend on it).
    expect(fired.map((f) => f.event.data.fraction).sort()).toEqual([0.75, 1]);
    for (const f of fired) expect(Date.parse(f.event.data.firedAt)).toBeGreaterThan(Date.parse(assigned.data.slaDueAt));
  });
});

describe('sla timers with two replicas', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let replicas: ServiceProcess[] = [];
  let driver: SlaDriver;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    const options = { databaseUrl: db.url, namespace: nats.namespace.prefix };
    // The first one migrates; the second starts against the same schema, namespace and durable consumers.
    replicas = [await ServiceProcess.start('sla', options)];
    replicas.push(await ServiceProcess.start('sla', options));
    driver = new SlaDriver(nats);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await nats?.cleanup();
    await db?.drop();
  });

  it('fires each timer exactly once between them', async () => {
    const count = 25;
    const assigned = await Promise.all(Array.from({ length: count }, (_, i) => driver.assign(1500 + (i % 5) * 200)));
    const fired = await eventually(async () => {
      const found = await driver.fired();
      expect(found).toHaveLength(count * 2);
      return found;
    }, 15_000);
    await sleep(2000);
    expect(await driver.fired()).toHaveLength(count * 2);

    const keys = fired.map((f) => `${f.event.data.assignmentId}:${f.event.data.fraction}`);
    expect(new Set(keys).size).toBe(count * 2);
    expect(new Set(fired.map((f) => f.event.data.assignmentId))).toEqual(new Set(assigned.map((a) => a.data.assignmentId)));
    // Claimed once in the database, not merely de-duplicated by JetStream: the replicas' counters add up exactly.
    const perReplica = await Promise.all(replicas.map(firedCount));
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(count * 2);
    for (const f of fired) expect(Date.parse(f.event.data.firedAt) - Date.parse(f.event.data.dueAt)).toBeLessThan(1000);
  });
});
