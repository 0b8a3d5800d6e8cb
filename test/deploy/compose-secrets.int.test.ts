import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot, SERVICE_PORTS } from '@agf/platform';
import { parse } from 'yaml';

jest.setTimeout(120_000);

const ROOT = repositoryRoot(__dirname);

/**
 * deploy/compose/generate-secrets.sh run in a scratch copy of the repository's layout (the script writes to the
 * repository root: .env and deploy/compose/secrets/): it makes every file docker-compose.yml names, with the names
 * the containers reach each other by in the certificates, and keeps what exists when run again.
 */
describe('deploy/compose/generate-secrets.sh', () => {
  const root = mkdtempSync(join(tmpdir(), 'agf-compose-secrets-'));
  const secrets = join(root, 'deploy', 'compose', 'secrets');
  const run = () => execFileSync('sh', [join(root, 'deploy', 'compose', 'generate-secrets.sh')], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${join(ROOT, 'node_modules', 'node', 'bin')}:${process.env['PATH']}` } });
  const env = () => Object.fromEntries(readFileSync(join(root, '.env'), 'utf8').trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));

  beforeAll(() => {
    mkdirSync(join(root, 'deploy', 'compose'), { recursive: true });
    symlinkSync(join(ROOT, 'deploy', 'compose', 'generate-secrets.sh'), join(root, 'deploy', 'compose', 'generate-secrets.sh'));
    for (const entry of ['package.json', 'node_modules', 'apps', 'libs', 'tools', '.swcrc', 'tsconfig.base.json']) symlinkSync(join(ROOT, entry), join(root, entry));
    run();
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('makes every secret file docker-compose.yml names, readable by their owner only', () => {
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true, maxAliasCount: -1 }) as { secrets: Record<string, { file: string }> };
    const files = [...Object.values(compose.secrets).map((secret) => secret.file), './deploy/compose/secrets/nats/nats-auth.conf'];
    for (const file of files) {
      const path = join(root, file);
      expect([file, existsSync(path) && (statSync(path).mode & 0o077) === 0]).toEqual([file, true]);
    }
  });

  it('writes a seed for the provisioner and for every service, and the authorization naming them', () => {
    const authorization = readFileSync(join(secrets, 'nats', 'nats-auth.conf'), 'utf8');
    for (const user of ['provisioner', ...Object.keys(SERVICE_PORTS)]) {
      expect(readFileSync(join(secrets, 'nats', `${user}.nk`), 'utf8')).toMatch(/^SU[A-Z0-9]{56}\n$/);
      expect(authorization).toContain(`# ${user}\n`);
    }
  });

  it('certifies the NATS nodes and Postgres by their compose names, for both ends of a connection, from the CA', () => {
    const describeCertificate = (name: string) => execFileSync('openssl', ['x509', '-in', join(secrets, `${name}.pem`), '-noout', '-ext', 'subjectAltName,extendedKeyUsage'], { encoding: 'utf8' });
    expect(describeCertificate('nats-server')).toMatch(/DNS:nats-1, DNS:nats-2, DNS:nats-3/);
    expect(describeCertificate('postgres-server')).toMatch(/DNS:postgres\b/);
    for (const name of ['nats-server', 'postgres-server']) {
      expect(describeCertificate(name)).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
      execFileSync('openssl', ['verify', '-CAfile', join(secrets, 'ca.pem'), join(secrets, `${name}.pem`)], { stdio: 'pipe' });
    }
  });

  it('writes .env with the default profile and a random, URL-safe Postgres password, and keeps both when run again', () => {
    const first = env();
    expect(first).toMatchObject({ COMPOSE_PROFILES: 'dev', AGF_UID: expect.stringMatching(/^\d+$/), AGF_GID: expect.stringMatching(/^\d+$/) });
    expect(first['POSTGRES_PASSWORD']).toMatch(/^[0-9a-f]{48}$/);
    const seed = readFileSync(join(secrets, 'nats', 'intake.nk'), 'utf8');
    run();
    expect(env()).toEqual(first);
    expect(readFileSync(join(secrets, 'nats', 'intake.nk'), 'utf8')).toBe(seed);
  });
});
