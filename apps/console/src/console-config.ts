import { randomBytes } from 'node:crypto';
import { ConfigError, loadInfraConfig, SERVICE_PORTS, type ServiceName } from '@agf/platform';
import { z } from 'zod';

const Minutes = (max: number) => z.coerce.number().int().min(1).max(max);

const Env = z.object({
  /** Where people open the console (`https://…` makes its cookies Secure); OIDC redirects come back here. Default `http://localhost:<CONSOLE_PORT>`. */
  AGF_CONSOLE_PUBLIC_URL: z.url().optional(),
  /** `intake=http://intake:3000,coe=http://coe:3002,…`: where the console reaches each service; unset ones are on 127.0.0.1 at their port. */
  AGF_CONSOLE_SERVICE_URLS: z.string().default(''),
  /** Signs the session cookie; unset: a random secret per process (sessions end with it). */
  AGF_CONSOLE_SESSION_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  AGF_CONSOLE_SESSION_IDLE_MINUTES: Minutes(24 * 60).default(30),
  AGF_CONSOLE_SESSION_MAX_MINUTES: Minutes(7 * 24 * 60).default(12 * 60),
  /** The console's client at the OpenID provider (AGF_OIDC_ISSUER); unset: sign-in with an API key only. */
  AGF_CONSOLE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** Its secret, for a confidential client; unset: a public client (PKCE protects the code either way). */
  AGF_CONSOLE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  AGF_CONSOLE_OIDC_SCOPE: z.string().min(1).default('openid profile'),
  /** RFC 8707 resource indicator asked for with the code, for providers that issue AGF's audience per resource. */
  AGF_CONSOLE_OIDC_RESOURCE: z.url().optional(),
  /** How often the live inbox asks intake again for the signed-in reviewer's assignments. */
  AGF_CONSOLE_INBOX_POLL_MS: z.coerce.number().int().min(200).max(60_000).default(2000),
  AGF_OIDC_ISSUER: z.url().optional(),
});

export interface ConsoleConfig {
  port: number;
  natsUrl: string;
  /** The console's own NATS credentials and CA (`agf nats-config`), for reading streams' and consumers' state. */
  natsSeedFile?: string;
  natsTlsCaFile?: string;
  namespace: string;
  publicUrl: URL;
  secureCookies: boolean;
  services: Record<Exclude<ServiceName, 'console'>, string>;
  sessionSecret: Buffer;
  sessionIdleMs: number;
  sessionMaxMs: number;
  oidc?: { issuer: string; clientId: string; clientSecret?: string; scope: string; resource?: string };
  inboxPollMs: number;
}

export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

/** Reads the console's settings; an error names the variable and what was expected. */
export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const infra = loadInfraConfig('console', env);
  // An empty variable (docker-compose's `${VAR:-}`) means unset.
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  const fail = (lines: string[]): never => {
    throw new ConfigError(`invalid environment for console:\n${lines.map((line) => `  ${line}`).join('\n')}`);
  };
  if (!parsed.success) return fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  const services = Object.fromEntries(
    (Object.keys(SERVICE_PORTS) as ServiceName[]).filter((name) => name !== 'console').map((name) => [name, `http://127.0.0.1:${env[`${name.toUpperCase()}_PORT`] || SERVICE_PORTS[name]}`]),
  ) as ConsoleConfig['services'];
  for (const entry of e.AGF_CONSOLE_SERVICE_URLS.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, url] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    if (!(name in services) || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      fail([`AGF_CONSOLE_SERVICE_URLS: expected name=http(s)://host:port entries of ${Object.keys(services).join(', ')}, got "${entry}"`]);
    }
    services[name as keyof ConsoleConfig['services']] = url.replace(/\/$/, '');
  }
  if (e.AGF_CONSOLE_OIDC_CLIENT_ID && !e.AGF_OIDC_ISSUER) fail(['AGF_OIDC_ISSUER: required with AGF_CONSOLE_OIDC_CLIENT_ID']);
  if (e.AGF_CONSOLE_SESSION_IDLE_MINUTES > e.AGF_CONSOLE_SESSION_MAX_MINUTES) fail(['AGF_CONSOLE_SESSION_IDLE_MINUTES: expected at most AGF_CONSOLE_SESSION_MAX_MINUTES']);
  const publicUrl = new URL(e.AGF_CONSOLE_PUBLIC_URL ?? `http://localhost:${infra.port}`);
  return {
    port: infra.port,
    natsUrl: infra.NATS_URL,
    natsSeedFile: infra.NATS_NKEY_SEED_FILE,
    natsTlsCaFile: infra.NATS_TLS_CA_FILE,
    namespace: infra.AGF_NAMESPACE,
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    services,
    sessionSecret: e.AGF_CONSOLE_SESSION_SECRET ? Buffer.from(e.AGF_CONSOLE_SESSION_SECRET) : randomBytes(32),
    sessionIdleMs: e.AGF_CONSOLE_SESSION_IDLE_MINUTES * 60_000,
    sessionMaxMs: e.AGF_CONSOLE_SESSION_MAX_MINUTES * 60_000,
    ...(e.AGF_CONSOLE_OIDC_CLIENT_ID && e.AGF_OIDC_ISSUER
      ? {
          oidc: {
            issuer: e.AGF_OIDC_ISSUER,
            clientId: e.AGF_CONSOLE_OIDC_CLIENT_ID,
            clientSecret: e.AGF_CONSOLE_OIDC_CLIENT_SECRET,
            scope: e.AGF_CONSOLE_OIDC_SCOPE,
            resource: e.AGF_CONSOLE_OIDC_RESOURCE,
          },
        }
      : {}),
    inboxPollMs: e.AGF_CONSOLE_INBOX_POLL_MS,
  };
}
