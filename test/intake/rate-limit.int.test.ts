import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { createTestDatabase, ServiceProcess, TestNats, type TestDatabase, testIdentity } from '@agf/testing';

jest.setTimeout(60_000);

describe('per-client rate limit', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_RATE_LIMIT_PER_MINUTE: '5' } });
  });

  afterAll(async () => {
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('answers 429 with Retry-After once a client spends its budget, stores nothing for it, and keeps probes open', async () => {
    const submitter = await (await testIdentity()).headers({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] });
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 7; i += 1) {
      const response = await fetch(`${intake.url}/v1/deployment-requests`, {
        method: 'POST',
        headers: submitter,
        body: JSON.stringify(aDeploymentRequestInput({ projectId: `rate-${i}` })),
      });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
      else await response.arrayBuffer();
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429]);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await refused!.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    const stored = await db.query<{ n: string }>('SELECT count(*) AS n FROM intake.requests');
    expect(Number(stored[0]!.n)).toBe(5);
    expect((await fetch(`${intake.url}/health/live`)).status).toBe(200);
  });
});
