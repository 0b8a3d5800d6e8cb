import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '@agf/access-domain';
import { ApiKeyIssuedResponse, ApiKeyView, type CloudEvent } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { createTestDatabase, eventually, ServiceProcess, TestNats, type TestDatabase, testIdentity } from '@agf/testing';

jest.setTimeout(90_000);

/**
 * API keys end to end: the bootstrap admin key a fresh installation writes to a file, keys an admin issues
 * and revokes at intake, and every service (here intake and risk) accepting and then refusing them.
 */
describe('API keys (intake issues them, every service accepts them)', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let intake: ServiceProcess;
  let risk: ServiceProcess;
  let keyDir: string;
  let keyFile: string;
  let adminKey: string;

  const bearer = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const call = (service: ServiceProcess, method: string, path: string, auth: Record<string, string>, body?: unknown) =>
    fetch(`${service.url}${path}`, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const issue = async (body: object) => {
    const response = await call(intake, 'POST', '/v1/api-keys', bearer(adminKey), body);
    expect(response.status).toBe(201);
    return ApiKeyIssuedResponse.parse(await response.json());
  };
  const accessEvents = async () => nats.read('AGF_ACCESS');
  const apiKeyRows = () => db.query<{ id: string; name: string; key_hash: string; revoked_at: Date | null }>('SELECT id, name, key_hash, revoked_at FROM intake.api_keys ORDER BY created_at');

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    keyDir = mkdtempSync(join(tmpdir(), 'agf-bootstrap-'));
    // A directory that does not exist yet: intake creates it.
    keyFile = join(keyDir, 'nested', 'admin.key');
    intake = await ServiceProcess.start('intake', { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_BOOTSTRAP_KEY_FILE: keyFile, LOG_LEVEL: 'log' } });
    risk = await ServiceProcess.start('risk', { databaseUrl: db.url, namespace: nats.namespace.prefix });
  });

  afterAll(async () => {
    await risk?.stop();
    await intake?.stop();
    await nats?.cleanup();
    await db?.drop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it('writes a bootstrap admin key to AGF_BOOTSTRAP_KEY_FILE (mode 0600), logs the path and never the key', async () => {
    const content = readFileSync(keyFile, 'utf8');
    expect(content).toMatch(/^agf_[A-Za-z0-9_-]{43}\n$/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    adminKey = content.trim();
    expect(intake.output.join('')).toContain(`bootstrap admin key written to ${keyFile}`);
    expect(intake.output.join('')).not.toContain(adminKey);

    const rows = await apiKeyRows();
    expect(rows).toEqual([expect.objectContaining({ name: 'bootstrap admin', key_hash: hashApiKey(adminKey), revoked_at: null })]);
    const issued = await eventually(async () => {
      const found = await accessEvents();
      expect(found).toHaveLength(1);
      return found[0]!;
    });
    expect(issued.text).not.toContain(adminKey);
    expect(issued.json<CloudEvent<'access.key.issued'>>().data).toMatchObject({
      keyId: rows[0]!.id,
      subject: 'bootstrap-admin',
      roles: ['admin'],
      projects: ['*'],
      keyHash: hashApiKey(adminKey),
      issuedBy: { subject: 'agf-intake' },
    });
    // It works as an admin key as soon as intake is ready, and on the other services within moments.
    expect((await call(intake, 'GET', '/v1/api-keys', bearer(adminKey))).status).toBe(200);
    await eventually(async () => expect((await call(risk, 'GET', '/metrics', bearer(adminKey))).status).toBe(200));
  });

  it('issues a key (201, shown once), which works on intake and on another service; the list shows no secret', async () => {
    const submitter = await issue({ name: 'pipeline of team A', subject: 'pipeline-a', roles: ['submitter'], projects: ['team-a'] });
    expect(submitter.key).toMatch(/^agf_/);
    const metrics = await issue({ name: 'prometheus', subject: 'prometheus', roles: ['metrics'], expiresAt: new Date(Date.now() + 3600_000).toISOString() });

    // The key is the credential: a submission in the key's subject's name.
    const submitted = await eventually(async () => {
      const response = await call(intake, 'POST', '/v1/deployment-requests', bearer(submitter.key), { ...aDeploymentRequestInput({ projectId: 'team-a' }), requester: undefined });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    });
    const [stored] = await db.query<{ requester: string; request: { actor: unknown } }>('SELECT requester, request FROM intake.requests WHERE id = $1', [submitted]);
    expect(stored).toEqual({ requester: 'pipeline-a', request: expect.objectContaining({ actor: { subject: 'pipeline-a', apiKeyId: submitter.id, channel: 'http' } }) });
    // Its scope holds: not another project, and not the admin's routes.
    expect((await call(intake, 'POST', '/v1/deployment-requests', bearer(submitter.key), aDeploymentRequestInput({ projectId: 'team-b', requester: 'pipeline-a' }))).status).toBe(403);
    expect((await call(intake, 'GET', '/v1/api-keys', bearer(submitter.key))).status).toBe(403);
    await eventually(async () => expect((await call(risk, 'GET', '/metrics', bearer(metrics.key))).status).toBe(200));
    expect((await call(intake, 'GET', '/metrics', bearer(metrics.key))).status).toBe(200);
    expect((await call(risk, 'GET', '/metrics', bearer(submitter.key))).status).toBe(403);

    const listed = await call(intake, 'GET', '/v1/api-keys', bearer(adminKey));
    expect(listed.status).toBe(200);
    const text = await listed.text();
    for (const secret of [adminKey, submitter.key, metrics.key]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hashApiKey(secret));
    }
    const views = (JSON.parse(text) as unknown[]).map((view) => ApiKeyView.strict().parse(view));
    expect(views.map((v) => v.name)).toEqual(['bootstrap admin', 'pipeline of team A', 'prometheus']);
    expect(views[1]).toMatchObject({ id: submitter.id, subject: 'pipeline-a', roles: ['submitter'], projects: ['team-a'], expiresAt: null, createdBy: 'bootstrap-admin', revokedAt: null });
    expect(views[2]!.expiresAt).not.toBeNull();

    // Every issue was announced with its hash and the admin who issued it, never the key.
    const issued = (await accessEvents()).map((m) => m.json<CloudEvent<'access.key.issued'>>());
    const ofSubmitter = issued.find((e) => e.data.keyId === submitter.id)!;
    expect(ofSubmitter.correlationid).toBe(submitter.id);
    expect(ofSubmitter.data).toMatchObject({ keyHash: hashApiKey(submitter.key), issuedBy: { subject: 'bootstrap-admin', apiKeyId: views[0]!.id, channel: 'http' } });
    expect(JSON.stringify(issued)).not.toContain(submitter.key);
  });

  it('revokes a key: refused by intake and by another service within 5 s, announced once; revoking again changes nothing', async () => {
    const doomed = await issue({ name: 'doomed', subject: 'scraper', roles: ['metrics'] });
    await eventually(async () => expect((await call(risk, 'GET', '/metrics', bearer(doomed.key))).status).toBe(200));
    expect((await call(intake, 'GET', '/metrics', bearer(doomed.key))).status).toBe(200);

    const revokedAt = Date.now();
    expect((await call(intake, 'DELETE', `/v1/api-keys/${doomed.id}`, bearer(adminKey))).status).toBe(204);
    await eventually(
      async () => {
        expect((await call(intake, 'GET', '/metrics', bearer(doomed.key))).status).toBe(401);
        expect((await call(risk, 'GET', '/metrics', bearer(doomed.key))).status).toBe(401);
      },
      5000,
      100,
    );
    expect(Date.now() - revokedAt).toBeLessThan(5000);

    expect((await call(intake, 'DELETE', `/v1/api-keys/${doomed.id}`, bearer(adminKey))).status).toBe(204);
    const revocations = async () => (await accessEvents()).filter((m) => m.subject === 'agf.v1.access.key.revoked').map((m) => m.json<CloudEvent<'access.key.revoked'>>().data);
    await eventually(async () => expect(await revocations()).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [revocation] = await revocations();
    expect(revocation).toMatchObject({ keyId: doomed.id, revokedBy: { subject: 'bootstrap-admin', channel: 'http' } });
    const listed = ((await (await call(intake, 'GET', '/v1/api-keys', bearer(adminKey))).json()) as Array<{ id: string; revokedAt: string | null }>).find((v) => v.id === doomed.id);
    expect(listed!.revokedAt).toBe(revocation!.revokedAt);

    expect((await call(intake, 'DELETE', `/v1/api-keys/${randomUUID()}`, bearer(adminKey))).status).toBe(404);
    expect((await call(intake, 'DELETE', '/v1/api-keys/not-a-uuid', bearer(adminKey))).status).toBe(404);
  });

  it('refuses everyone but an admin, and bad input with 400 naming the field', async () => {
    const identity = await testIdentity();
    const submitter = await identity.headers({ sub: 'pipeline-a', roles: ['submitter', 'auditor', 'reviewer', 'metrics'], projects: ['*'] });
    const body = { name: 'sneaky', subject: 'pipeline-a', roles: ['admin'] };
    const before = (await apiKeyRows()).length;
    expect((await call(intake, 'POST', '/v1/api-keys', submitter, body)).status).toBe(403);
    expect((await call(intake, 'GET', '/v1/api-keys', submitter)).status).toBe(403);
    expect((await call(intake, 'DELETE', `/v1/api-keys/${randomUUID()}`, submitter)).status).toBe(403);
    expect((await call(intake, 'POST', '/v1/api-keys', { 'content-type': 'application/json' }, body)).status).toBe(401);
    await eventually(async () => {
      const refused = (await nats.read('AGF_SECURITY', 'agf.v1.security.refused')).map((m) => m.json<CloudEvent<'security.refused'>>().data);
      expect(refused.filter((r) => r.code === 'forbidden' && r.actor?.issuer === identity.issuer && r.actor.subject === 'pipeline-a' && r.target.includes('/v1/api-keys'))).toHaveLength(3);
    });

    // An admin token from the identity provider may issue keys too.
    const admin = await identity.headers({ sub: 'root', roles: ['admin'] });
    const cases: Array<[object, string]> = [
      [{ ...body, expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
      [{ ...body, roles: ['superuser'] }, 'roles.0'],
      [{ ...body, roles: [] }, 'roles'],
      [{ ...body, projects: ['bad.project>'] }, 'projects.0'],
      [{ name: 'x', roles: ['admin'] }, 'subject'],
      [{ ...body, keyHash: 'mine' }, '(root)'],
    ];
    for (const [input, path] of cases) {
      const response = await call(intake, 'POST', '/v1/api-keys', admin, input);
      expect({ input, status: response.status }).toEqual({ input, status: 400 });
      expect(((await response.json()) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain(path);
    }
    expect((await apiKeyRows()).length).toBe(before);
    const issued = await call(intake, 'POST', '/v1/api-keys', admin, { ...body, name: 'from a token', roles: ['metrics'] });
    expect(issued.status).toBe(201);
    const { id } = ApiKeyIssuedResponse.parse(await issued.json());
    const event = (await eventually(async () => {
      const found = (await accessEvents()).map((m) => m.json<CloudEvent<'access.key.issued'>>()).filter((e) => e.data.keyId === id);
      expect(found).toHaveLength(1);
      return found;
    }))[0]!;
    expect(event.data.issuedBy).toEqual({ subject: 'root', issuer: identity.issuer, channel: 'http' });
  });

  it('keeps the bootstrap key across restarts: the file is not rewritten and no second admin key is issued', async () => {
    const before = { content: readFileSync(keyFile, 'utf8'), mtime: statSync(keyFile).mtimeMs, issued: (await accessEvents()).filter((m) => m.subject === 'agf.v1.access.key.issued').length };
    await intake.stop();
    await intake.restart();
    expect(readFileSync(keyFile, 'utf8')).toBe(before.content);
    expect(statSync(keyFile).mtimeMs).toBe(before.mtime);
    expect((await apiKeyRows()).filter((r) => r.name === 'bootstrap admin')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await accessEvents()).filter((m) => m.subject === 'agf.v1.access.key.issued')).toHaveLength(before.issued);
    // The restarted process learnt the keys from AGF_ACCESS again, the revoked one included.
    expect((await call(intake, 'GET', '/v1/api-keys', bearer(adminKey))).status).toBe(200);
    const revoked = (await apiKeyRows()).find((r) => r.name === 'doomed');
    expect(revoked?.revoked_at).not.toBeNull();
  });

  it('issues a new bootstrap key once no admin key is in force any more', async () => {
    const bootstrapId = (await apiKeyRows()).find((r) => r.name === 'bootstrap admin')!.id;
    const old = readFileSync(keyFile, 'utf8');
    expect((await call(intake, 'DELETE', `/v1/api-keys/${bootstrapId}`, bearer(adminKey))).status).toBe(204);
    await intake.stop();
    await intake.restart();
    const renewed = readFileSync(keyFile, 'utf8');
    expect(renewed).not.toBe(old);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect((await call(intake, 'GET', '/v1/api-keys', bearer(renewed.trim()))).status).toBe(200);
    expect((await call(intake, 'GET', '/v1/api-keys', bearer(adminKey))).status).toBe(401);
  });

  it('issues one bootstrap key when two replicas start together on a fresh database', async () => {
    const freshDb = await createTestDatabase();
    const freshNats = await TestNats.connect();
    const files = [join(keyDir, 'replica-1', 'admin.key'), join(keyDir, 'replica-2', 'admin.key')];
    const replicas = await Promise.all(
      files.map((file) => ServiceProcess.start('intake', { databaseUrl: freshDb.url, namespace: freshNats.namespace.prefix, env: { AGF_BOOTSTRAP_KEY_FILE: file } })),
    );
    try {
      const written = files.filter((file) => existsSync(file));
      expect(written).toHaveLength(1);
      expect(await freshDb.query('SELECT 1 FROM intake.api_keys')).toHaveLength(1);
      const key = readFileSync(written[0]!, 'utf8').trim();
      // Both replicas accept it: each learns the keys from AGF_ACCESS, not from its own memory.
      for (const replica of replicas) await eventually(async () => expect((await call(replica, 'GET', '/v1/api-keys', bearer(key))).status).toBe(200));
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      await freshNats.cleanup();
      await freshDb.drop();
    }
  });
});
