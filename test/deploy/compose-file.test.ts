import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot, SERVICE_PORTS } from '@agf/platform';
import { parse } from 'yaml';

const ROOT = repositoryRoot(__dirname);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

// Compose resolves `<<` merge keys; the file shares its service templates through many aliases.
const compose = parse(read('docker-compose.yml'), { merge: true, maxAliasCount: -1 }) as ComposeFile;
const inProfile = (profile: string) => Object.entries(compose.services).filter(([, service]) => service.profiles?.includes(profile));
const natsNodes = inProfile('cluster').filter(([, service]) => service.image?.startsWith('nats:'));
const AGF_SERVICES = Object.keys(SERVICE_PORTS);

/** `${VAR:?…}` or `${VAR:-…}`: a value Compose takes from the environment (.env), never written in the file. */
const INTERPOLATED = /^\$\{[A-Z_][A-Z0-9_]*(:?[?-][^}]*)?\}$/;

describe('docker-compose.yml', () => {
  it('puts every service in a profile: dev (the default, from .env) or cluster', () => {
    for (const [name, service] of Object.entries(compose.services)) expect([name, service.profiles?.every((p) => ['dev', 'cluster'].includes(p))]).toEqual([name, true]);
    expect(read('.env.example')).toMatch(/^COMPOSE_PROFILES=dev$/m);
    expect(read('deploy/compose/generate-secrets.sh')).toMatch(/set_default COMPOSE_PROFILES dev/);
  });

  it('runs every AGF service in both profiles', () => {
    const built = (profile: string) => inProfile(profile).filter(([name, s]) => s.build && name !== 'provision').map(([, s]) => s.environment?.['SERVICE']);
    expect(built('dev').sort()).toEqual([...AGF_SERVICES].sort());
    expect(built('cluster').sort()).toEqual([...AGF_SERVICES].sort());
  });

  describe('the cluster profile', () => {
    it('has three NATS nodes, each with its own configuration and store', () => {
      expect(natsNodes.map(([name]) => name)).toEqual(['nats-1', 'nats-2', 'nats-3']);
      for (const [name, node] of natsNodes) {
        expect(node.volumes).toContain(`./deploy/compose/nats/${name}.conf:/etc/nats/nats-server.conf:ro`);
        expect(node.volumes).toContain(`${name}-data:/data`);
        expect(node.command).toEqual(['-c', '/etc/nats/nats-server.conf']);
      }
    });

    it.each(['nats-1', 'nats-2', 'nats-3'])('%s: JetStream on its volume, TLS for clients and routes, routes to the other two, the authorization agf nats-config writes', (name) => {
      const node = compose.services[name]!;
      const config = read(`deploy/compose/nats/${name}.conf`);
      expect(config).toMatch(new RegExp(`^server_name: ${name}$`, 'm'));
      expect(config).toMatch(/jetstream \{\s*store_dir: "\/data\/jetstream"\s*\}/);
      const clusterBlock = config.slice(config.indexOf('cluster {'));
      const clientTls = config.slice(0, config.indexOf('cluster {')).match(/^tls \{([^}]*)\}/m)?.[1] ?? '';
      const routeTls = clusterBlock.match(/tls \{([^}]*)\}/)?.[1] ?? '';
      for (const tls of [clientTls, routeTls]) {
        expect(tls).toMatch(/cert_file: "\/run\/secrets\/nats-server-cert"/);
        expect(tls).toMatch(/key_file: "\/run\/secrets\/nats-server-key"/);
        expect(tls).toMatch(/ca_file: "\/run\/secrets\/agf-ca"/);
      }
      expect(node.secrets).toEqual(expect.arrayContaining(['agf-ca', 'nats-server-cert', 'nats-server-key']));
      const others = ['nats-1', 'nats-2', 'nats-3'].filter((other) => other !== name);
      expect([...clusterBlock.matchAll(/nats-route:\/\/([\w-]+):6222/g)].map((m) => m[1])).toEqual(others);
      // An include is resolved next to the configuration; the file there is agf nats-config's output.
      expect(config).toMatch(/^include "nats-auth\.conf"$/m);
      expect(node.volumes).toContain('./deploy/compose/secrets/nats/nats-auth.conf:/etc/nats/nats-auth.conf:ro');
      // No key of nats-server 2.10 or later: the cluster runs on 2.9.
      expect(config).not.toMatch(/filter_subjects|compression|subject_transform/);
    });

    it('provisions the streams with three replicas, as the provisioner, once the nodes are healthy', () => {
      const provision = compose.services['provision']!;
      expect(provision.command).toEqual(['node', 'dist/tools/bus/src/main.js', 'provision']);
      expect(provision.environment).toMatchObject({ AGF_STREAM_REPLICAS: '3', NATS_NKEY_SEED_FILE: '/run/secrets/nats-seed-provisioner', NATS_TLS_CA_FILE: '/run/secrets/agf-ca' });
      expect(provision.environment?.['NATS_URL']?.split(',')).toEqual(['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']);
      expect(provision.secrets).toEqual(['agf-ca', 'nats-seed-provisioner']);
      expect(provision.depends_on).toEqual({ 'nats-1': { condition: 'service_healthy' }, 'nats-2': { condition: 'service_healthy' }, 'nats-3': { condition: 'service_healthy' } });
    });

    it.each(AGF_SERVICES)('%s: every seed, three replicas, its own nkey, the CA, Postgres verified, after provisioning', (serviceName) => {
      const [, service] = inProfile('cluster').find(([, s]) => s.environment?.['SERVICE'] === serviceName)!;
      const env = service.environment!;
      expect(env['NATS_URL']?.split(',')).toEqual(['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']);
      expect(env).toMatchObject({ AGF_STREAM_REPLICAS: '3', AGF_BUS_PROVISIONING: 'external', NATS_TLS_CA_FILE: '/run/secrets/agf-ca', NATS_NKEY_SEED_FILE: `/run/secrets/nats-seed-${serviceName}` });
      expect(env['DATABASE_URL']).toMatch(/\?sslmode=verify-full&sslrootcert=\/run\/secrets\/agf-ca$/);
      expect(service.secrets).toEqual(['agf-ca', `nats-seed-${serviceName}`]);
      expect(compose.secrets[`nats-seed-${serviceName}`]).toEqual({ file: `./deploy/compose/secrets/nats/${serviceName}.nk` });
      expect(service.depends_on?.['provision']).toEqual({ condition: 'service_completed_successfully' });
    });

    it('serves Postgres over TLS', () => {
      const postgres = compose.services['postgres']!;
      expect(postgres.secrets).toEqual(['postgres-server-cert', 'postgres-server-key']);
      expect(read('deploy/compose/postgres-tls.sh')).toMatch(/-c ssl=on -c ssl_cert_file=.* -c ssl_key_file=/);
    });
  });

  it('holds no password: credentials come from .env (${VAR:?…}) or from secret files', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const where = `${name}.environment.${key}`;
        if (/PASSWORD|SECRET|TOKEN|PRIVATE_KEY/.test(key) && !key.endsWith('_FILE')) expect([where, INTERPOLATED.test(value)]).toEqual([where, true]);
        // user:password@ in a URL: the password part must be an interpolation.
        for (const [, password] of String(value).matchAll(/:\/\/[^:/@\s]+:([^@\s]*)@/g)) expect([where, INTERPOLATED.test(password!)]).toEqual([where, true]);
      }
      for (const part of service.command ?? []) expect(part).not.toMatch(/:\/\/[^:/@\s]+:[^$@\s][^@\s]*@|password/i);
    }
    for (const secret of Object.values(compose.secrets)) expect(secret.file).toMatch(/^\.\/deploy\/compose\/secrets\//);
  });

  it('pins every image by digest, on an exact version tag', () => {
    const images = [
      ...Object.values(compose.services).flatMap((service) => (service.image ? [service.image] : [])),
      ...[...read('deploy/Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!),
    ];
    expect(images.length).toBeGreaterThan(2);
    for (const image of images) {
      const [, name, version] = image.match(/^([a-z0-9./-]+):([\d.]+)(-[a-z0-9.-]+)?@sha256:[0-9a-f]{64}$/) ?? [];
      expect([image, name]).toEqual([image, expect.any(String)]);
      // A release, not a line that moves: PostgreSQL numbers its releases major.minor (15.19), the others major.minor.patch.
      expect([image, version]).toEqual([image, expect.stringMatching(name === 'postgres' ? /^\d{2}\.\d+$/ : /^\d+\.\d+\.\d+$/)]);
    }
  });
});

describe('.dockerignore', () => {
  const ignored = read('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));

  it('keeps dependencies, build output, history, local state and secrets out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.agf', 'test-artifacts', 'coverage', '.env', 'deploy/compose/secrets']));
  });

  it('and git keeps the generated secrets out of the repository', () => {
    expect(read('.gitignore').split('\n')).toEqual(expect.arrayContaining(['.env', 'deploy/compose/secrets/']));
  });
});
