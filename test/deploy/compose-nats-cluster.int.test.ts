import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { STREAM_NAMES } from '@agf/contracts';
import { Namespace } from '@agf/messaging';
import { busUsers, inboxPrefixOf, natsAuthorizationConfig, repositoryRoot, SERVICE_PORTS } from '@agf/platform';
import { createTestCertificates, eventually, freePort, natsServerBinary, OwnPostgres, ServiceProcess, type TestCertificates, waitForPort } from '@agf/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { parse } from 'yaml';

jest.setTimeout(240_000);

const NODES = ['nats-1', 'nats-2', 'nats-3'] as const;
const ROOT = repositoryRoot(__dirname);
const CONFIG_DIR = join(ROOT, 'deploy', 'compose', 'nats');
const BUS_TOOL = join(ROOT, 'dist', 'tools', 'bus', 'src', 'main.js');

/**
 * docker-compose.yml's `cluster` profile, its NATS part run for real: the three node configurations from
 * deploy/compose/nats, unchanged but for where things are (ports, the store, the secret files become temporary
 * ones), on the machine's nats-server 2.9, with a CA and certificate made by openssl and the authorization made by
 * the code `agf nats-config` runs. The compose file's provision service (its command and environment, secrets
 * moved likewise) creates every stream with three replicas; a service started with its compose environment
 * becomes ready on the cluster as its own user; a client that does not trust the CA, or has no credential, is refused.
 */
describe('the compose cluster profile: three NATS nodes with TLS and authorization', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agf-compose-cluster-'));
  const children: ChildProcess[] = [];
  const output: string[] = [];
  const clients: NatsConnection[] = [];
  const clientPorts = new Map<string, number>();
  let certificates: TestCertificates;
  let postgres: OwnPostgres | undefined;
  let service: ServiceProcess | undefined;
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true, maxAliasCount: -1 }) as { services: Record<string, { command: string[]; environment: Record<string, string> }> };
  /** A compose environment with the cluster and the secret files moved where this test has them. */
  const localised = (environment: Record<string, string>, seedUser: string) =>
    Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [
        key,
        key === 'NATS_URL' ? seedList() : value.replaceAll('/run/secrets/agf-ca', certificates.caFile).replace(`/run/secrets/nats-seed-${seedUser}`, join(dir, `${seedUser}.nk`)),
      ]),
    );

  const seedOf = (user: string) => new TextEncoder().encode(readFileSync(join(dir, `${user}.nk`), 'utf8').trim());
  const urlOf = (node: string) => `nats://127.0.0.1:${clientPorts.get(node)}`;
  const seedList = () => NODES.map(urlOf).join(',');
  const connectAs = async (user: string, servers: string) => {
    const nc = await connect({ servers, authenticator: nkeyAuthenticator(seedOf(user)), inboxPrefix: inboxPrefixOf(user), tls: { caFile: certificates.caFile }, reconnect: false });
    clients.push(nc);
    return nc;
  };

  /** What `agf nats-config --out dir` writes: a seed per user and the authorization with their public keys. */
  function writeAuthorization(): void {
    const publicKeyOf = (user: string) => {
      const seed = nkeys.createUser().getSeed();
      writeFileSync(join(dir, `${user}.nk`), `${new TextDecoder().decode(seed)}\n`, { mode: 0o600 });
      return nkeys.fromSeed(seed).getPublicKey();
    };
    const services = Object.fromEntries(Object.keys(SERVICE_PORTS).map((service) => [service, publicKeyOf(service)]));
    writeFileSync(join(dir, 'nats-auth.conf'), natsAuthorizationConfig(busUsers({ provisioner: publicKeyOf('provisioner'), services }, new Namespace(''))));
  }

  beforeAll(async () => {
    certificates = createTestCertificates(dir, { clientAuth: true });
    writeAuthorization();
    const clusterPorts = new Map<string, number>();
    for (const node of NODES) {
      clientPorts.set(node, await freePort());
      clusterPorts.set(node, await freePort());
    }
    for (const node of NODES) {
      const config = readFileSync(join(CONFIG_DIR, `${node}.conf`), 'utf8')
        .replaceAll('/run/secrets/nats-server-cert', certificates.certFile)
        .replaceAll('/run/secrets/nats-server-key', certificates.keyFile)
        .replaceAll('/run/secrets/agf-ca', certificates.caFile)
        .replace('"/data/jetstream"', JSON.stringify(join(dir, `${node}-store`)))
        .replace('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${clientPorts.get(node)}`)
        .replace('http: 0.0.0.0:8222', `http: 127.0.0.1:${await freePort()}`)
        .replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${clusterPorts.get(node)}`)
        .replace(/nats-route:\/\/(nats-\d):6222/g, (_, other: string) => `nats-route://127.0.0.1:${clusterPorts.get(other)}`);
      // Whatever the compose file would have Docker provide must have been replaced, or the node would not be the one tested.
      const settings = config.split('\n').filter((line) => !line.trim().startsWith('#'));
      expect(settings.join('\n')).not.toMatch(/\/run\/secrets|\/data\/|0\.0\.0\.0|nats-route:\/\/nats-/);
      // Next to nats-auth.conf: nats-server 2.9 resolves the include relative to the configuration.
      const file = join(dir, `${node}.conf`);
      writeFileSync(file, config);
      const child = spawn(natsServerBinary(), ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      children.push(child);
    }
    await Promise.all(NODES.map((node) => waitForPort(clientPorts.get(node)!, 15_000, 'nats-server')));
  });

  afterAll(async () => {
    await service?.stop();
    await postgres?.stop();
    for (const nc of clients) await nc.close().catch(() => undefined);
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('forms a cluster whose routes verify each other, and lets the provisioner create every stream with three replicas', async () => {
    const provision = compose.services['provision']!;
    expect(provision.command.slice(0, 2)).toEqual(['node', 'dist/tools/bus/src/main.js']);
    const env = localised(provision.environment, 'provisioner');
    // The nodes elect a JetStream meta leader over their TLS routes first; until then stream creation fails.
    await eventually(() => promisify(execFile)(process.execPath, [BUS_TOOL, ...provision.command.slice(2)], { env: { ...process.env, AGF_NAMESPACE: '', ...env } }), 120_000, 1000);
    const jsm = await jetstreamManager(await connectAs('provisioner', urlOf('nats-2')));
    for (const stream of STREAM_NAMES) {
      const info = await jsm.streams.info(stream);
      expect([stream, info.config.num_replicas]).toEqual([stream, 3]);
      const peers = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((replica) => replica.name)].sort();
      expect([stream, peers]).toEqual([stream, [...NODES]]);
    }
    expect(output.join('')).not.toMatch(/TLS route handshake error/);
  });

  it("runs a service with its compose environment: ready on the cluster as its own user, on Postgres over verified TLS", async () => {
    postgres = await OwnPostgres.start({ tls: certificates });
    const env = localised(compose.services['cluster-risk']!.environment, 'risk');
    // The compose host and password give way to this test's Postgres (trust authentication); the TLS settings stay.
    const [, query] = env['DATABASE_URL']!.split('?');
    env['DATABASE_URL'] = `postgres://postgres@127.0.0.1:${postgres.port}/agf?${query}`;
    expect(env).toMatchObject({ SERVICE: 'risk', AGF_BUS_PROVISIONING: 'external', AGF_STREAM_REPLICAS: '3', NATS_NKEY_SEED_FILE: join(dir, 'risk.nk') });
    service = await ServiceProcess.start('risk', { databaseUrl: env['DATABASE_URL'], namespace: '', env });
    // Its allow-lists held everything it did on the way to ready.
    expect(output.join('').split('\n').filter((line) => /Violation/.test(line) && /agf-risk/.test(line))).toEqual([]);
  });

  it.each(NODES)('lets a service connect to %s with its own nkey over verified TLS', async (node) => {
    const nc = await connectAs('risk', urlOf(node));
    expect(nc.info?.tls_required).toBe(true);
    await nc.flush();
  });

  it('refuses a client that does not trust the CA', async () => {
    await expect(connect({ servers: urlOf('nats-1'), authenticator: nkeyAuthenticator(seedOf('provisioner')), reconnect: false, timeout: 5000 })).rejects.toThrow();
  });

  it('refuses a client without a credential, and one whose key is not in the authorization', async () => {
    await expect(connect({ servers: urlOf('nats-3'), tls: { caFile: certificates.caFile }, reconnect: false, timeout: 5000 })).rejects.toThrow(/Authorization/i);
    const stranger = nkeys.createUser().getSeed();
    await expect(connect({ servers: urlOf('nats-3'), tls: { caFile: certificates.caFile }, authenticator: nkeyAuthenticator(stranger), reconnect: false, timeout: 5000 })).rejects.toThrow(/Authorization/i);
  });
});
