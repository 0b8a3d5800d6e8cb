import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, testIdentity } from '@agf/testing';

jest.setTimeout(60_000);

describe('outbox: a process killed after its commit but before its publish', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  let submitter: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    submitter = await (await testIdentity()).headers({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] }, { expiresIn: 3600 });
  });

  afterAll(async () => {
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('publishes the committed event after restart, exactly once', async () => {
    // The relay is paused, so the commit happens and the publish does not: the state a crash leaves behind.
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_OUTBOX_RELAY: 'paused' } });
    const response = await fetch(`${intake.url}/v1/deployment-requests`, {
      method: 'POST',
      headers: submitter,
      body: JSON.stringify(aDeploymentRequestInput({ projectId: 'crash-project' })),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await intake.kill();

    expect(await db.query(`SELECT event_id FROM intake.outbox`)).toHaveLength(1);
    expect(await nats.read('AGF_DEPLOYMENT')).toHaveLength(0);

    await intake.restart({ AGF_OUTBOX_RELAY: 'on' });
    const events = await eventually(async () => {
      const found = await nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.>');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(events[0]!.json().subject).toBe(id);
    await eventually(async () => expect(await db.query(`SELECT 1 FROM intake.outbox`)).toHaveLength(0));
    // A second restart does not publish it again.
    await intake.kill();
    await intake.restart();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await nats.read('AGF_DEPLOYMENT')).toHaveLength(1);
  });

  it('publishes the rows behind one that can never be published (over NATS max_payload), and keeps that one', async () => {
    await intake.stop();
    await intake.restart({ AGF_OUTBOX_RELAY: 'paused' });
    const submit = async (projectId: string) => {
      const response = await fetch(`${intake.url}/v1/deployment-requests`, {
        method: 'POST',
        headers: submitter,
        body: JSON.stringify(aDeploymentRequestInput({ projectId })),
      });
      return ((await response.json()) as { id: string }).id;
    };
    const stuck = await submit('stuck-project');
    const behind = await submit('behind-project');
    await intake.kill();
    // Only a corrupted or foreign row can be this large now (intake refuses requests whose events would not fit).
    await db.query(`UPDATE intake.outbox SET payload = jsonb_set(payload::jsonb, '{data,metadata}', jsonb_build_object('pad', repeat('x', 1100000)))::text
                     WHERE payload::jsonb ->> 'subject' = $1`, [stuck]);

    await intake.restart({ AGF_OUTBOX_RELAY: 'on' });
    const published = await eventually(async () => {
      const found = await nats.read('AGF_DEPLOYMENT', 'agf.v1.deployment.requested.>');
      expect(found.map((m) => m.json<{ subject: string }>().subject)).toContain(behind);
      return found;
    });
    expect(published.map((m) => m.json<{ subject: string }>().subject)).not.toContain(stuck);
    // The poller deletes rows after their publish, in the same transaction: a moment after NATS has them.
    await eventually(async () => {
      const unsent = await db.query<{ subject: string }>(`SELECT payload::jsonb ->> 'subject' AS subject FROM intake.outbox`);
      expect(unsent.map((r) => r.subject)).toEqual([stuck]);
    });
    await eventually(async () => expect(intake.output.join('')).toMatch(/could not be published: .*max_payload/));
    const metrics = await (await fetch(`${intake.url}/metrics`, { headers: await (await testIdentity()).headers({ sub: 'prometheus', roles: ['metrics'] }) })).text();
    expect(metrics).toMatch(/^agf_outbox_unsent_events\{service="intake"\} 1$/m);
    expect(Number(/^agf_outbox_oldest_unsent_seconds\{service="intake"\} ([\d.]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(1);
  });
});
