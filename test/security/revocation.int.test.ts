import { eventually } from '@agf/testing';
import { ALL_SERVICES, SecuredSystem } from './secured-system';

jest.setTimeout(120_000);

/** An API key issued by intake works on every service; once revoked, every service refuses it within 5 s. */
describe('API key revocation', () => {
  let system: SecuredSystem;

  beforeAll(async () => {
    system = await SecuredSystem.start();
  }, 90_000);

  afterAll(async () => {
    await system?.stop();
  });

  const scrapeAll = (key: string) => Promise.all(ALL_SERVICES.map(async (service) => (await system.call(service, 'GET', '/metrics', `Bearer ${key}`)).status));

  it('reaches every replica of every service within 5 seconds', async () => {
    const { id, key } = await system.issueKey({ name: 'prometheus', subject: 'prometheus', roles: ['metrics'] });
    // Issued keys reach the other services' replicas through AGF_ACCESS too.
    await eventually(async () => expect(await scrapeAll(key)).toEqual(ALL_SERVICES.map(() => 200)), 5000, 50);

    const revokedAt = Date.now();
    expect((await system.call('intake', 'DELETE', `/v1/api-keys/${id}`, `Bearer ${system.adminKey}`)).status).toBe(204);
    await eventually(async () => expect(await scrapeAll(key)).toEqual(ALL_SERVICES.map(() => 401)), 5000, 50);
    const elapsed = Date.now() - revokedAt;
    expect(elapsed).toBeLessThan(5000);

    // Revoked for good: a service started afterwards replays the revocation before it takes any credential.
    const coe = system.services.get('coe')!;
    await coe.restart();
    expect((await system.call('coe', 'GET', '/metrics', `Bearer ${key}`)).status).toBe(401);
    // And the list says so.
    const listed = (await (await system.call('intake', 'GET', '/v1/api-keys', `Bearer ${system.adminKey}`)).json()) as Array<{ id: string; revokedAt: string | null }>;
    expect(listed.find((k) => k.id === id)?.revokedAt).toEqual(expect.any(String));
  });

  it('refuses an expired key on every service', async () => {
    const expiresAt = new Date(Date.now() + 3000).toISOString();
    const response = await system.call('intake', 'POST', '/v1/api-keys', `Bearer ${system.adminKey}`, { name: 'short-lived', subject: 'prometheus', roles: ['metrics'], projects: [], expiresAt });
    expect(response.status).toBe(201);
    const { key } = (await response.json()) as { key: string };
    await eventually(async () => expect(await scrapeAll(key)).toEqual(ALL_SERVICES.map(() => 200)), 2500, 50);
    await eventually(async () => expect(await scrapeAll(key)).toEqual(ALL_SERVICES.map(() => 401)), 6000, 200);
  });
});
