import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, subjectFor } from '@agf/contracts';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { inboxPrefixOf, repositoryRoot } from '@agf/platform';
import { createTestCertificates, OwnNatsServer, OwnPostgres, randomNamespace, type TestCertificates } from '@agf/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node';
import { TestSystem } from '../governance/system';

jest.setTimeout(240_000);

const BUS_TOOL = join(repositoryRoot(__dirname), 'dist', 'tools', 'bus', 'src', 'main.js');

/**
 * The production topology on one machine: nats-server with AGF's authorization and TLS, Postgres with TLS
 * (`sslmode=verify-full` against a CA the test makes), each service as its own nkey user without JetStream admin
 * rights and as its own Postgres role. `agf nats-config` writes the authorization from the code, `agf provision`
 * creates streams and consumers. A pipeline's or an external expert's credential cannot publish a decision, and
 * a service cannot manage streams.
 */
describe('NATS permissions from the subject catalog', () => {
  const namespace = randomNamespace();
  let dir: string;
  let server: OwnNatsServer;
  let postgres: OwnPostgres;
  let certificates: TestCertificates;
  let system: TestSystem;
  const clients: NatsConnection[] = [];

  const seedOf = (user: string) => new TextEncoder().encode(readFileSync(join(dir, `${user}.nk`), 'utf8').trim());
  const connectAs = async (user: string) => {
    const nc = await connect({ servers: server.url, authenticator: nkeyAuthenticator(seedOf(user)), inboxPrefix: inboxPrefixOf(user), tls: { caFile: certificates.caFile } });
    clients.push(nc);
    return nc;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agf-bus-'));
    const env = { ...process.env, AGF_NAMESPACE: namespace.prefix };
    execFileSync(process.execPath, [BUS_TOOL, 'nats-config', '--out', dir, '--pipeline', 'ci', '--expert', 'ext_sec'], { env });
    certificates = createTestCertificates(dir);
    writeFileSync(join(dir, 'server.conf'), `include "nats-auth.conf"\nmax_payload: 2MB\ntls { cert_file: "${certificates.certFile}", key_file: "${certificates.keyFile}" }\n`);
    server = await OwnNatsServer.start({ configFile: join(dir, 'server.conf') });
    postgres = await OwnPostgres.start({ tls: certificates });
    execFileSync(process.execPath, [BUS_TOOL, 'provision', '--expert', 'ext_sec'], {
      env: { ...env, NATS_URL: server.url, NATS_NKEY_SEED_FILE: join(dir, 'provisioner.nk'), NATS_TLS_CA_FILE: certificates.caFile },
    });
    system = await TestSystem.start('agf-config.governance.yaml', {
      bus: { url: server.url, seedDir: dir, namespace, tlsCaFile: certificates.caFile },
      databaseServer: `postgres://postgres@127.0.0.1:${postgres.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(certificates.caFile)}`,
      databaseRoles: true,
    });
  });

  afterAll(async () => {
    for (const nc of clients) await nc.close().catch(() => undefined);
    await system?.stop();
    await server?.stop();
    await postgres?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes no secret into the server configuration: public nkeys only', () => {
    const config = readFileSync(join(dir, 'nats-auth.conf'), 'utf8');
    expect(config).toMatch(/nkey: "U[A-Z0-9]{55}"/);
    expect(config).not.toMatch(/SU[A-Z0-9]{56}/);
  });

  it('decides a request with every service connected as its own user, its streams and consumers provisioned for it', async () => {
    const id = await system.submit(aDeploymentRequestInput({ projectId: 'bus-demo', changes: ['README.md'], riskIndicators: { codeChanges: 2, testsPassed: true, userImpact: 'low', affectedProjects: [] } }));
    const decision = await system.decision(id, 60_000);
    expect(decision.data.requestId).toBe(id);
    expect(decision.source).toMatch(/coe/);
    // No service was refused anything on the way: its allow-lists hold what it does.
    expect(server.output.join('').split('\n').filter((line) => /Violation/.test(line) && /agf-/.test(line))).toEqual([]);
  });

  it.each([['pipeline-ci'], ['expert-ext_sec'], ['intake']])('refuses a decision.made published with the credential of %s', async (user) => {
    const nc = await connectAs(user);
    const forged = createEvent({ name: 'decision.made', source: 'forger', correlationId: '6f1c2a7e-4b7d-4c8e-9a1f-2d3e4f5a6b7c', data: {} as never });
    await expect(jetstream(nc).publish(namespace.subject(subjectFor('decision.made', 'bus-demo')), JSON.stringify(forged), { timeout: 3000 })).rejects.toThrow(/permissions violation/i);
    const stored = await system.nats.read('AGF_DECISION');
    expect(stored.filter((m) => m.text.includes('forger'))).toHaveLength(0);
    // nats-server logs each refusal (the log the check on the services' own runs reads).
    expect(server.output.join('')).toMatch(/Publish Violation.*decision\.made/);
  });

  it('speaks TLS only: NATS is reached over TLS with the CA the services trust, and every service session of Postgres is encrypted and its own non-superuser role', async () => {
    // nats-server requires TLS: a client that does not trust the test CA cannot connect at all.
    await expect(connect({ servers: server.url, authenticator: nkeyAuthenticator(seedOf('pipeline-ci')), timeout: 3000, maxReconnectAttempts: 0 })).rejects.toThrow(/certificate/i);
    const sessions = await system.db.query<{ application_name: string; usename: string; ssl: boolean; rolsuper: boolean }>(
      `SELECT a.application_name, a.usename, s.ssl, r.rolsuper FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid JOIN pg_roles r ON r.rolname = a.usename
        WHERE a.datname = current_database() AND a.application_name LIKE 'agf-%'`,
    );
    expect(sessions.length).toBeGreaterThanOrEqual(6);
    for (const session of sessions) expect(session).toMatchObject({ ssl: true, rolsuper: false, usename: expect.stringMatching(/^agf_/) });
  });

  it('refuses stream and consumer management to a service, and reading another service\'s consumer', async () => {
    const nc = await connectAs('risk');
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.add({ name: `${namespace.prefix.toUpperCase()}_ROGUE`, subjects: [`${namespace.prefix}.rogue.>`] })).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.delete(namespace.stream('AGF_DECISION'))).rejects.toThrow(/permissions violation/i);
    await expect(jsm.consumers.info(namespace.stream('AGF_DECISION'), 'sla')).rejects.toThrow(/permissions violation/i);
    // It replays the API keys, but cannot touch compliance's durable consumer on them (the audit of every key).
    await expect(jsm.consumers.delete(namespace.stream('AGF_ACCESS'), 'compliance')).rejects.toThrow(/permissions violation/i);
    expect((await system.nats.jsm.consumers.info(namespace.stream('AGF_ACCESS'), 'compliance')).name).toBe('compliance');
    // The stream is still there, and so is every decision.
    expect((await system.nats.read('AGF_DECISION')).length).toBeGreaterThan(0);
  });
});
