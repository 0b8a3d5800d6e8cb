import { randomBytes } from 'node:crypto';
import { eventually } from '@agf/testing';
import { decision, outcome, Probe } from './probe';

jest.setTimeout(60_000);

/** Under load, waiting messages share a transaction; a failing batch falls back to one message at a time. */
describe('JetStream transport with batches (real NATS and Postgres)', () => {
  let probe: Probe;

  beforeAll(async () => {
    // One slot, so messages queue up behind the first and the next ones are taken as batches.
    probe = await Probe.start({ concurrency: 1, batchSize: 8 });
  });

  afterAll(async () => {
    await probe?.stop();
  });

  /** Transactions that handled a project's events: an inbox row's processed_at is its transaction's start time. */
  const transactionsOf = async (projectId: string) =>
    Number(
      (
        await probe.db.query<{ n: string }>(
          `SELECT count(DISTINCT i.processed_at) AS n FROM probe.inbox i JOIN probe.effects e ON e.event_id = i.event_id WHERE e.project_id = $1`,
          [projectId],
        )
      )[0]!.n,
    );

  it('handles 60 waiting events in fewer transactions than events, each exactly once', async () => {
    // A burst (published concurrently), so that they wait behind the first whatever the host's speed. The test
    // counted the database's commits (pg_stat, flushed lazily and with the background polls in it) and passed
    // without batching too; once, published one by one, it failed with batching (46 commits).
    await Promise.all(Array.from({ length: 60 }, () => probe.nats.publish('agf.v1.deployment.outcome.batched', JSON.stringify(outcome('batched')))));
    await eventually(async () => expect(await probe.effects('batched')).toBe(60), 20_000);
    expect(await transactionsOf('batched')).toBeLessThan(20);
    expect(probe.results.filter((r) => r.result === 'processed')).toHaveLength(60);
  });

  it('claims inbox entries for a batch only when one of its handlers changed something', async () => {
    const processed = () => probe.results.filter((r) => r.result === 'processed').length;
    // One after another: the test database's client takes one query at a time (pg 9 refuses a second).
    const entries = async (events: Array<ReturnType<typeof outcome>>) => {
      let n = 0;
      for (const e of events) n += await probe.inboxEntries(e.id);
      return n;
    };
    // Batches of events that change nothing: no entries. (Published first, and alone: a batch that mixes
    // them with an event that changes something claims all of its entries.)
    const idle = Array.from({ length: 20 }, () => outcome('changes-nothing'));
    const before = processed();
    for (const event of idle) await probe.nats.publish('agf.v1.deployment.outcome.changes-nothing', JSON.stringify(event));
    await eventually(() => expect(processed() - before).toBe(20), 20_000);
    expect(await entries(idle)).toBe(0);
    const mixed = Array.from({ length: 20 }, (_, i) => outcome(i % 2 ? 'changes-nothing' : 'mixed'));
    for (const event of mixed) await probe.nats.publish(`agf.v1.deployment.outcome.${event.data.projectId}`, JSON.stringify(event));
    await eventually(async () => expect(await probe.effects('mixed')).toBe(10), 20_000);
    await eventually(async () => expect(await entries(mixed.filter((e) => e.data.projectId === 'mixed'))).toBe(10));
  });

  it('isolates a failing and an invalid event: the rest of their batch commits once, they are dead-lettered', async () => {
    const events = Array.from({ length: 20 }, () => outcome('neighbour'));
    const invalid = { ...outcome('invalid'), data: { projectId: 'invalid', status: 'exploded' } };
    await probe.nats.publish('agf.v1.deployment.outcome.always-fails', JSON.stringify(outcome('always-fails')));
    await probe.nats.publish('agf.v1.deployment.outcome.invalid', JSON.stringify(invalid));
    for (const event of events) await probe.nats.publish('agf.v1.deployment.outcome.neighbour', JSON.stringify(event));
    await eventually(async () => expect(await probe.effects('neighbour')).toBe(20), 20_000);
    const dead = await eventually(async () => {
      const found = await probe.nats.read('AGF_DLQ');
      expect(found).toHaveLength(2);
      return found;
    }, 20_000);
    expect(dead.map((m) => m.headers['Agf-Dlq-Reason']).sort()).toEqual([expect.stringMatching(/handler always throws/), expect.stringMatching(/invalid deployment.outcome/)]);
    expect(await probe.effects('always-fails')).toBe(0);
    // Give a second effect of any neighbour every chance to appear.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await probe.effects('neighbour')).toBe(20);
  });

  it('answers an invalid event with an @OnInvalidMessage handler once when it comes amid a batch, and handles the others once each', async () => {
    const neighbours = Array.from({ length: 20 }, () => decision('invalid-neighbour'));
    const invalid = { ...decision('answered-invalid'), data: { ...decision('answered-invalid').data, outcome: 'MAYBE' } };
    await Promise.all([
      ...neighbours.slice(0, 10).map((e) => probe.nats.publish('agf.v1.decision.made.invalid-neighbour', JSON.stringify(e))),
      probe.nats.publish('agf.v1.decision.made.answered-invalid', JSON.stringify(invalid)),
      ...neighbours.slice(10).map((e) => probe.nats.publish('agf.v1.decision.made.invalid-neighbour', JSON.stringify(e))),
    ]);
    await eventually(async () => expect(await probe.effects('invalid-neighbour')).toBe(20), 20_000);
    await eventually(async () => expect(await probe.effects('answered-invalid')).toBe(1));
    expect(await transactionsOf('invalid-neighbour')).toBeLessThan(20);
    expect(await probe.inboxEntries(`invalid:${invalid.id}`)).toBe(1);
  });

  it('publishes what a batch emits at the end of its transaction, caused by and in the trace of each message', async () => {
    const events = Array.from({ length: 12 }, () => decision('emits-later'));
    const traceparent = (traceId: string) => `00-${traceId}-${'1'.repeat(16)}-01`;
    const traceIds = events.map(() => randomBytes(16).toString('hex'));
    for (const [i, event] of events.entries()) {
      await probe.nats.publish('agf.v1.decision.made.emits-later', JSON.stringify({ ...event, traceparent: traceparent(traceIds[i]!) }), undefined, { traceparent: traceparent(traceIds[i]!) });
    }
    const emitted = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.emitted-later')).map((m) => m.json<{ causationid?: string; traceparent?: string; data: { requestId: string } }>());
      expect(found).toHaveLength(events.length);
      return found;
    }, 20_000);
    for (const [i, event] of events.entries()) {
      const answer = emitted.find((e) => e.data.requestId === event.data.requestId);
      expect(answer).toMatchObject({ causationid: event.id, traceparent: expect.stringContaining(traceIds[i]!) });
    }
    expect(await probe.effects('emits-later')).toBe(events.length);
  });

  it('gives the same event delivered twice within one batch one effect', async () => {
    const event = JSON.stringify(outcome('twice'));
    // Published without a message id, so JetStream stores both copies and delivers them back to back.
    for (let i = 0; i < 6; i += 1) await probe.nats.publish('agf.v1.deployment.outcome.twice-filler', JSON.stringify(outcome('twice-filler')));
    await probe.nats.publish('agf.v1.deployment.outcome.twice', event);
    await probe.nats.publish('agf.v1.deployment.outcome.twice', event);
    await eventually(async () => expect(await probe.effects('twice-filler')).toBe(6), 20_000);
    await eventually(async () => expect(probe.results.filter((r) => r.result === 'duplicate').length).toBeGreaterThan(0), 20_000);
    expect(await probe.effects('twice')).toBe(1);
  });
});

describe('JetStream transport with a batch linger (real NATS and Postgres)', () => {
  let probe: Probe;

  beforeAll(async () => {
    // Free slots: without the linger every message of a trickle would get its own transaction.
    probe = await Probe.start({ concurrency: 4, batchSize: 16, batchLingerMs: 100 });
  });

  afterAll(async () => {
    await probe?.stop();
  });

  it('collects a steady trickle of events into shared transactions', async () => {
    for (let i = 0; i < 40; i += 1) {
      await probe.nats.publish('agf.v1.deployment.outcome.trickle', JSON.stringify(outcome('trickle')));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await eventually(async () => expect(await probe.effects('trickle')).toBe(40), 20_000);
    // An inbox row's processed_at is its transaction's start time, so distinct values count transactions.
    const [{ transactions }] = await probe.db.query<{ transactions: string }>(
      `SELECT count(DISTINCT i.processed_at) AS transactions FROM probe.inbox i JOIN probe.effects e ON e.event_id = i.event_id WHERE e.project_id = 'trickle'`,
    );
    // 40 events ~10 ms apart with a 100 ms linger: a handful of batches rather than 40 transactions.
    expect(Number(transactions)).toBeLessThan(15);
  });

  it('puts messages of different streams into the same transactions', async () => {
    // A burst, interleaved: however slowly the host publishes, both streams have messages waiting together.
    for (let i = 0; i < 20; i += 1) {
      await probe.nats.publish('agf.v1.deployment.outcome.mixed-outcome', JSON.stringify(outcome('mixed-outcome')));
      await probe.nats.publish('agf.v1.decision.made.mixed-decision', JSON.stringify(decision('mixed-decision')));
    }
    await eventually(async () => expect((await probe.effects('mixed-outcome')) + (await probe.effects('mixed-decision'))).toBe(40), 20_000);
    const [{ transactions, shared }] = await probe.db.query<{ transactions: string; shared: string }>(
      `SELECT count(*) AS transactions, count(*) FILTER (WHERE kinds = 2) AS shared FROM (
         SELECT i.processed_at, count(DISTINCT e.project_id) AS kinds FROM probe.inbox i JOIN probe.effects e ON e.event_id = i.event_id
          WHERE e.project_id IN ('mixed-outcome', 'mixed-decision') GROUP BY i.processed_at) t`,
    );
    // One queue for both streams' consumers: batches mix them (per-stream batches would never share one).
    expect(Number(shared)).toBeGreaterThan(0);
    expect(Number(transactions)).toBeLessThan(20);
  });
});

describe('outbox relay (real NATS and Postgres)', () => {
  let probe: Probe;

  beforeAll(async () => {
    // A poll interval far beyond the test: what arrives in time was published right after its commit.
    probe = await Probe.start({ concurrency: 2, relayPollMs: 60_000 });
  });

  afterAll(async () => {
    await probe?.stop();
  });

  it('publishes the events a handler emitted right after its commit and then deletes their rows', async () => {
    const event = decision('emits');
    await probe.nats.publish('agf.v1.decision.made.emits', JSON.stringify(event));
    const published = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.>')).filter((m) => m.json<{ data: { requestId: string } }>().data.requestId === event.data.requestId);
      expect(found).toHaveLength(1);
      return found[0]!;
    }, 5000);
    await eventually(async () => expect(await probe.db.query(`SELECT 1 FROM probe.outbox WHERE event_id = $1`, [published.headers['Nats-Msg-Id']])).toHaveLength(0), 5000);
  });
});
