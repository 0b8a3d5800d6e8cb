import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { writeAdmission } from '@agf/platform';
import express from 'express';

/** Load shedding over real HTTP: writes beyond the bound are refused at once, reads are not counted. */
describe('write admission', () => {
  let server: Server;
  let base: string;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    const app = express();
    app.use(writeAdmission(2));
    // Each write waits until the test releases it, so the number in flight is exactly what the test sent.
    app.post('/work', (_req, res) => held.push(() => res.status(202).json({ ok: true })));
    app.get('/work', (_req, res) => res.json({ read: true }));
    server = app.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    held.splice(0).forEach((release) => release());
    await new Promise((resolve) => server.close(resolve));
  });

  const waitForHeld = async (n: number) => {
    while (held.length < n) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it('answers 503 problem+json with Retry-After past the bound, serves reads meanwhile, and admits again once a write finishes', async () => {
    const first = fetch(`${base}/work`, { method: 'POST' });
    const second = fetch(`${base}/work`, { method: 'POST' });
    await waitForHeld(2);

    const refused = await fetch(`${base}/work`, { method: 'POST' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/2 writes are in progress/) });
    expect((await fetch(`${base}/work`)).status).toBe(200);

    held.shift()!();
    expect((await first).status).toBe(202);
    const third = fetch(`${base}/work`, { method: 'POST' });
    await waitForHeld(2);
    held.splice(0).forEach((release) => release());
    expect((await second).status).toBe(202);
    expect((await third).status).toBe(202);
  });
});
