import { DEFAULT_STREAM_OPTIONS, ensureConsumer, ensureStreams, inboxRetentionMs, purgeInbox } from '@agf/messaging';
import { eventually } from '@agf/testing';
import { decision, outcome, Probe } from './probe';

jest.setTimeout(60_000);

describe('JetStream transport: inbox, retries and dead letters (real NATS and Postgres)', () => {
  let probe: Probe;

  beforeAll(async () => {
    probe = await Probe.start({ concurrency: 8 });
  });

  afterAll(async () => {
    await probe?.stop();
  });

  it('gives an event delivered twice one effect', async () => {
    const event = outcome('twice');
    // Different Nats-Msg-Ids get past JetStream's duplicate window: only the inbox stands in the way.
    await probe.nats.publish('agf.v1.deployment.outcome.twice', JSON.stringify(event), 'first');
    await probe.nats.publish('agf.v1.deployment.outcome.twice', JSON.stringify(event), 'second');
    await eventually(() => expect(probe.results.filter((r) => r.result === 'duplicate')).toHaveLength(1));
    expect(await probe.effects('twice')).toBe(1);
  });

  it('claims no inbox entry for an event its handler changes nothing for, and handles it again when it comes again', async () => {
    const event = outcome('changes-nothing');
    const processed = () => probe.results.filter((r) => r.result === 'processed').length;
    const before = processed();
    await probe.nats.publish('agf.v1.deployment.outcome.changes-nothing', JSON.stringify(event), `${event.id}-first`);
    await probe.nats.publish('agf.v1.deployment.outcome.changes-nothing', JSON.stringify(event), `${event.id}-second`);
    await eventually(() => expect(processed() - before).toBe(2));
    expect(await probe.inboxEntries(event.id)).toBe(0);
    // An event with an effect keeps its entry (the test above: its second delivery is the duplicate).
    const effectful = outcome('claims');
    await probe.nats.publish('agf.v1.deployment.outcome.claims', JSON.stringify(effectful));
    await eventually(async () => expect(await probe.inboxEntries(effectful.id)).toBe(1));
  });

  it('dead-letters an invalid event with its reason and still processes the next one', async () => {
    const invalid = { ...outcome('invalid'), data: { projectId: 'invalid', status: 'exploded' } };
    await probe.nats.publish('agf.v1.deployment.outcome.invalid', JSON.stringify(invalid));
    await probe.nats.publish('agf.v1.deployment.outcome.after-invalid', JSON.stringify(outcome('after-invalid')));
    await eventually(async () => expect(await probe.effects('after-invalid')).toBe(1));
    const dead = await eventually(async () => {
      const found = await probe.nats.read('AGF_DLQ');
      expect(found.filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.invalid'))).toHaveLength(1);
      return found.find((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.invalid'))!;
    });
    expect(dead.subject).toBe('agf.dlq.probe.AGF_DEPLOYMENT');
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/invalid deployment.outcome: .*status/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('1');
    expect(dead.json<{ id: string }>().id).toBe(invalid.id);
    expect(await probe.effects('invalid')).toBe(0);
    // Terminated, not left pending until its ack wait (5 s here): nats-server 2.9 ignored a term with a reason,
    // and a burst of poison messages then held every slot of the consumer's max ack pending for 30 s at a time.
    await eventually(async () => expect((await probe.nats.jsm.consumers.info(probe.nats.namespace.stream('AGF_DEPLOYMENT'), 'probe')).num_ack_pending).toBe(0), 2500);
  });

  it('hands an invalid event to its @OnInvalidMessage handler: answered once however often it comes, dropped, or dead-lettered', async () => {
    const invalidDecision = (projectId: string) => {
      const event = decision(projectId);
      return { ...event, data: { ...event.data, outcome: 'MAYBE' } };
    };
    const duplicates = () => probe.results.filter((r) => r.message === 'decision.made' && r.result === 'duplicate').length;
    const duplicatesBefore = duplicates();
    const answered = invalidDecision('answered-invalid');
    await probe.nats.publish('agf.v1.decision.made.answered-invalid', JSON.stringify(answered), `${answered.id}-first`);
    await probe.nats.publish('agf.v1.decision.made.answered-invalid', JSON.stringify(answered), `${answered.id}-second`);
    const dropped = invalidDecision('dropped-invalid');
    await probe.nats.publish('agf.v1.decision.made.dropped-invalid', JSON.stringify(dropped));
    await probe.nats.publish('agf.v1.decision.made.unanswerable', JSON.stringify(invalidDecision('unanswerable')));
    await probe.nats.publish('agf.v1.decision.made.unanswerable', '{"truncated":');

    const dead = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.unanswerable'));
      expect(found).toHaveLength(2);
      return found;
    });
    expect(dead.map((m) => m.headers['Agf-Dlq-Reason']).sort()).toEqual([expect.stringMatching(/^PoisonMessage: invalid decision.made: data.outcome/), expect.stringMatching(/^PoisonMessage: not JSON/)]);
    await eventually(() => expect(duplicates() - duplicatesBefore).toBe(1));
    const reasons = async () => (await probe.db.query<{ event_id: string }>(`SELECT event_id FROM probe.effects WHERE project_id = 'answered-invalid'`)).map((r) => r.event_id);
    expect(await reasons()).toEqual([expect.stringMatching(/^invalid decision.made: data.outcome/)]);
    expect(await probe.inboxEntries(`invalid:${answered.id}`)).toBe(1);
    // Dropped: acked with no entry and no dead letter, and counted as ignored.
    expect(await probe.inboxEntries(`invalid:${dropped.id}`)).toBe(0);
    await eventually(() => expect(probe.results.filter((r) => r.message === 'decision.made' && r.result === 'ignored')).toHaveLength(1));
    expect((await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.dropped-invalid'))).toEqual([]);

    // The valid event with the invalid one's id is handled, not taken for a duplicate of it.
    const corrected = { ...answered, data: decision('answered-invalid').data };
    await probe.nats.publish('agf.v1.decision.made.answered-invalid', JSON.stringify(corrected), `${answered.id}-corrected`);
    await eventually(async () => expect(await reasons()).toHaveLength(2));
    expect(await reasons()).toContain(answered.id);
  });

  it.each([
    ['a NUL character', 'nul', 'c\u0000'],
    ['an unpaired surrogate', 'surrogate', 'c\ud800'],
  ])('dead-letters at once an event with %s, which no handler could store', async (_case, projectId, componentName) => {
    const event = outcome(projectId);
    const text = JSON.stringify({ ...event, data: { ...event.data, componentName } });
    await probe.nats.publish(`agf.v1.deployment.outcome.${projectId}`, text);
    const dead = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith(`.${projectId}`));
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/invalid deployment.outcome: contains a NUL character .* surrogate, which cannot be stored at data.componentName/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('1');
    expect(await probe.effects(projectId)).toBe(0);
  });

  it('retries a handler that always throws, dead-letters it after max deliveries, without delaying the messages behind it', async () => {
    await probe.nats.publish('agf.v1.deployment.outcome.always-fails', JSON.stringify(outcome('always-fails')));
    const started = Date.now();
    for (let i = 0; i < 5; i += 1) await probe.nats.publish('agf.v1.deployment.outcome.behind', JSON.stringify(outcome('behind')));
    await eventually(async () => expect(await probe.effects('behind')).toBe(5), 5000, 20);
    expect(Date.now() - started).toBeLessThan(2000);
    const dead = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.always-fails'));
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/handler always throws/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('3');
    // Each failed attempt rolled back, so the poison message left no effect behind.
    expect(await probe.effects('always-fails')).toBe(0);
    expect(probe.results.filter((r) => r.result === 'retried')).toHaveLength(2);
  });

  it('dead-letters at once a message whose handler emits an event too large to publish, leaving no effect', async () => {
    const event = decision('emits-too-large');
    await probe.nats.publish('agf.v1.decision.made.emits-too-large', JSON.stringify(event));
    const dead = await eventually(async () => {
      const found = (await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.emits-too-large'));
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(dead.headers['Agf-Dlq-Reason']).toMatch(/EventTooLarge: deployment.requested would be \d+ bytes/);
    expect(dead.headers['Agf-Dlq-Deliveries']).toBe('1');
    expect(await probe.effects('emits-too-large')).toBe(0);
    expect(await probe.db.query('SELECT 1 FROM probe.outbox')).toHaveLength(0);
  });

  // Inbox entries are claimed at the end of the transaction, so a duplicate runs its handler before it is
  // recognised; when that run fails, the delivery is still a duplicate, not a failure to retry.
  it('acks a duplicate whose handler fails on the second run, without retrying or dead-lettering it', async () => {
    const retriedBefore = probe.results.filter((r) => r.result === 'retried').length;
    const event = outcome('fails-when-repeated');
    await probe.nats.publish('agf.v1.deployment.outcome.fails-when-repeated', JSON.stringify(event), 'repeated-first');
    await eventually(async () => expect(await probe.effects('fails-when-repeated')).toBe(1));
    const duplicatesBefore = probe.results.filter((r) => r.result === 'duplicate').length;
    await probe.nats.publish('agf.v1.deployment.outcome.fails-when-repeated', JSON.stringify(event), 'repeated-second');
    await eventually(() => expect(probe.results.filter((r) => r.result === 'duplicate')).toHaveLength(duplicatesBefore + 1));
    expect(probe.results.filter((r) => r.result === 'retried')).toHaveLength(retriedBefore);
    expect((await probe.nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Subject']?.endsWith('.fails-when-repeated'))).toHaveLength(0);
    expect(await probe.effects('fails-when-repeated')).toBe(1);
  });

  it('asks NATS for more messages once per several when they trickle in, not for every few', async () => {
    // Pull requests are plain messages on the JetStream API subject: another subscriber sees them too.
    const pulls = probe.nats.nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${probe.nats.namespace.stream('AGF_DEPLOYMENT')}.probe`);
    let pullRequests = 0;
    void (async () => {
      for await (const _pull of pulls) pullRequests += 1;
    })();
    await probe.nats.nc.flush();
    for (let i = 1; i <= 24; i += 1) {
      await probe.nats.publish('agf.v1.deployment.outcome.trickled', JSON.stringify(outcome('trickled')));
      await eventually(async () => expect(await probe.effects('trickled')).toBe(i));
    }
    pulls.unsubscribe();
    // A window of 16 (concurrency 8) refilled at a quarter: one request per 12 messages. The client's default
    // (refill at three quarters) asks every 4, 6 times here.
    expect(pullRequests).toBeGreaterThanOrEqual(1);
    expect(pullRequests).toBeLessThanOrEqual(3);
  });

  it('deletes the published rows of commits close together in one statement', async () => {
    // A statement-level trigger numbers each statement that deletes outbox rows and keeps what it deleted.
    await probe.db.query(`CREATE SEQUENCE probe.deleting_statements`);
    await probe.db.query(`CREATE TABLE probe.deleted_rows ("statement" bigint NOT NULL, "request_id" text, "created_at" timestamptz NOT NULL)`);
    await probe.db.query(`
      CREATE FUNCTION probe.keep_deleted_rows() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE statement bigint := nextval('probe.deleting_statements');
      BEGIN
        INSERT INTO probe.deleted_rows SELECT statement, payload::jsonb -> 'data' ->> 'requestId', created_at FROM gone;
        RETURN NULL;
      END $$`);
    await probe.db.query(`CREATE TRIGGER keep_deleted_rows AFTER DELETE ON probe.outbox REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION probe.keep_deleted_rows()`);
    const decisions = Array.from({ length: 4 }, () => decision('emits'));
    for (const event of decisions) {
      await probe.nats.publish('agf.v1.decision.made.emits', JSON.stringify(event));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const requestIds = decisions.map((d) => d.data.requestId);
    const { statements, spanMs } = await eventually(async () => {
      const rows = await probe.db.query<{ statement: string; created_at: Date }>(`SELECT "statement", "created_at" FROM probe.deleted_rows WHERE "request_id" = ANY($1::text[])`, [requestIds]);
      expect(rows).toHaveLength(4);
      const created = rows.map((row) => row.created_at.getTime());
      return { statements: new Set(rows.map((row) => row.statement)).size, spanMs: Math.max(...created) - Math.min(...created) };
    }, 5000);
    expect(await probe.db.query(`SELECT 1 FROM probe.outbox`)).toHaveLength(0);
    // Commits ~25 ms apart (more on a slow host) share a delete per 500 ms they span, plus one (allowing one per
    // 100 ms); a delete for every commit or two (a 20 ms delay) would be 3-4 over the ~75 ms they usually span.
    expect(statements).toBeLessThanOrEqual(Math.floor(spanMs / 100) + 2);
  });

  it('forgets inbox entries only once no stream or dead-letter replay can bring their message again', async () => {
    const day = 24 * 3600_000;
    const retention = inboxRetentionMs(DEFAULT_STREAM_OPTIONS);
    expect(retention).toBe(31 * day); // decisions are kept 30 days, dead letters at least 30
    const insert = (prefix: string, count: number, ageMs: number) =>
      probe.db.query(
        `INSERT INTO probe.inbox ("consumer", "event_id", "processed_at") SELECT 'old-probe', $1 || n, now() - ($2::bigint * interval '1 millisecond') FROM generate_series(1, $3) AS n`,
        [prefix, ageMs, count],
      );
    await insert('expired-', 12, retention + day);
    await insert('kept-', 3, retention - day);
    const entries = async () => (await probe.db.query<{ event_id: string }>(`SELECT "event_id" FROM probe.inbox WHERE "consumer" = 'old-probe'`)).map((r) => r.event_id);

    expect(await purgeInbox(probe.dataSource, 'probe', retention, 5)).toBe(12);
    expect((await entries()).sort()).toEqual(['kept-1', 'kept-2', 'kept-3']);
    expect(await purgeInbox(probe.dataSource, 'probe', retention, 5)).toBe(0);
  });
});

describe('JetStream transport: durables of streams a service no longer reads', () => {
  let probe: Probe | undefined;

  afterAll(async () => {
    await probe?.stop();
  });

  it('removes an empty one at start and keeps one that still holds messages', async () => {
    const durable = { durable: 'probe', maxDeliver: 3, ackWaitMs: 5000, maxAckPending: 10 };
    probe = await Probe.start({
      concurrency: 2,
      // The probe reads AGF_DEPLOYMENT and AGF_DECISION; an earlier version of it read AGF_RISK and AGF_SLA.
      beforeListen: async (nats) => {
        await ensureStreams(nats.jsm, nats.namespace, { decisionRetentionDays: 1, retentionDays: 1, duplicateWindowMs: 60_000 });
        await ensureConsumer(nats.jsm, nats.namespace, { stream: 'AGF_RISK', ...durable });
        await ensureConsumer(nats.jsm, nats.namespace, { stream: 'AGF_SLA', ...durable });
        await nats.publish('agf.v1.sla.warning.unread', JSON.stringify({ published: 'before the upgrade' }));
      },
    });
    await expect(probe.nats.jsm.consumers.info(probe.nats.namespace.stream('AGF_RISK'), 'probe')).rejects.toThrow(/not found/i);
    const kept = await probe.nats.jsm.consumers.info(probe.nats.namespace.stream('AGF_SLA'), 'probe');
    expect(kept.num_pending).toBe(1);
  });
});
