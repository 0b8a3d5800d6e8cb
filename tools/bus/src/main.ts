import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nkeys } from '@nats-io/transport-node';
import { Namespace } from '@agf/messaging';
import { busUsers, inboxPrefixOf, natsAuthorizationConfig, provisionBus, SERVICE_PORTS, type ServiceName } from '@agf/platform';

/**
 * The bus's least privilege, from the code:
 * - `nats-config` writes nats-server's `authorization` block (every service, pipeline and external expert as
 *   its own nkey user with publish and subscribe allow-lists derived from the subject catalog and the services'
 *   bus roles) and a seed file per user (mode 0600; an existing seed is kept, so keys stay stable);
 * - `provision` creates the streams and every durable consumer with the provisioner's seed, so that the services
 *   need no JetStream admin rights (they run with `AGF_BUS_PROVISIONING=external`).
 */
const HELP = `usage: agf nats-config --out DIR [--pipeline NAME]… [--expert ID]…
       agf provision [--expert ID]…
env: AGF_NAMESPACE; provision: NATS_URL, NATS_NKEY_SEED_FILE (the provisioner's), NATS_TLS_CA_FILE, AGF_STREAM_REPLICAS,
     AGF_MAX_DELIVER, AGF_ACK_WAIT_MS, AGF_CONSUMER_CONCURRENCY, AGF_DECISION_RETENTION_DAYS`;

const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, pipeline: { type: 'string', multiple: true, default: [] }, expert: { type: 'string', multiple: true, default: [] }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [command] = positionals;
  const namespace = new Namespace(process.env['AGF_NAMESPACE'] ?? '');
  if (values.help || (command !== 'nats-config' && command !== 'provision')) {
    console.log(HELP);
    process.exit(values.help ? 0 : 3);
  }
  if (command === 'nats-config') {
    if (!values.out) {
      console.error('nats-config: --out DIR is required');
      process.exit(3);
    }
    writeNatsConfig(resolve(values.out), namespace, values.pipeline, values.expert);
  } else {
    await provision(namespace, values.expert);
  }
}

function writeNatsConfig(dir: string, namespace: Namespace, pipelines: string[], experts: string[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const publicKeyOf = (user: string): string => {
    const file = join(dir, `${user}.nk`);
    if (!existsSync(file)) {
      writeFileSync(file, `${new TextDecoder().decode(nkeys.createUser().getSeed())}\n`, { mode: 0o600 });
    }
    chmodSync(file, 0o600);
    return nkeys.fromSeed(new TextEncoder().encode(readFileSync(file, 'utf8').trim())).getPublicKey();
  };
  const users = busUsers(
    {
      provisioner: publicKeyOf('provisioner'),
      services: Object.fromEntries(SERVICES.map((service) => [service, publicKeyOf(service)])),
      pipelines: Object.fromEntries(pipelines.map((name) => [name, publicKeyOf(`pipeline-${name}`)])),
      experts: Object.fromEntries(experts.map((id) => [id, publicKeyOf(`expert-${id}`)])),
    },
    namespace,
  );
  writeFileSync(join(dir, 'nats-auth.conf'), natsAuthorizationConfig(users));
  console.log(JSON.stringify({ config: join(dir, 'nats-auth.conf'), users: users.map((u) => ({ name: u.name, seedFile: join(dir, `${u.name}.nk`), inboxPrefix: inboxPrefixOf(u.name) })) }));
}

async function provision(namespace: Namespace, experts: string[]): Promise<void> {
  const env = process.env;
  const seedFile = env['NATS_NKEY_SEED_FILE'];
  const nkeySeed = seedFile ? new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim()) : undefined;
  const created = await provisionBus({ url: env['NATS_URL'] ?? 'nats://127.0.0.1:4222', nkeySeed, tlsCaFile: env['NATS_TLS_CA_FILE'], namespace, experts, env, warn: (message) => console.error(`agf: ${message}`) });
  console.log(JSON.stringify({ streams: 'ensured', consumers: created }));
}

main().catch((error: unknown) => {
  console.error(`agf: ${(error as Error).message}`);
  process.exit(4);
});
