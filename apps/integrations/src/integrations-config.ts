import { readFileSync } from 'node:fs';
import { ConfigError } from '@agf/platform';
import { z } from 'zod';

const Env = z.object({
  /** The GitHub App that answers deployment protection rules. */
  AGF_GITHUB_APP_ID: z.string().regex(/^\d+$/, 'expected the numeric App id').optional(),
  AGF_GITHUB_PRIVATE_KEY: z.string().min(1).optional(),
  AGF_GITHUB_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  AGF_GITHUB_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server. */
  AGF_GITHUB_API_URL: z.url().default('https://api.github.com'),
  /** GitLab's base URL (`https://gitlab.com`, or a self-managed instance). */
  AGF_GITLAB_URL: z.url().default('https://gitlab.com'),
  /** Access token sent as `PRIVATE-TOKEN` when approving or rejecting a deployment. */
  AGF_GITLAB_TOKEN: z.string().min(1).optional(),
  /** The secret token configured on the GitLab webhook (`X-Gitlab-Token`). */
  AGF_GITLAB_WEBHOOK_TOKEN: z.string().min(1).optional(),
  /** The credential (API key with the submitter role, or token) this service submits deployments with. */
  AGF_INTEGRATIONS_TOKEN: z.string().min(1).optional(),
  /** Where people reach AGF's API: the callbacks' comments link to the request there. */
  AGF_PUBLIC_URL: z.url().default('http://localhost:3000'),
  AGF_CALLBACK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
  AGF_CALLBACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(25),
  AGF_CALLBACK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
});

export interface IntegrationsConfig {
  github: { appId?: string; privateKey?: string; webhookSecret?: string; apiUrl: string };
  gitlab: { url: string; token?: string; webhookToken?: string };
  submitAuthorization?: string;
  publicUrl: string;
  callbacks: { retryBaseMs: number; maxAttempts: number; pollMs: number };
}

export const INTEGRATIONS_CONFIG = Symbol('INTEGRATIONS_CONFIG');

/** Reads the integrations' settings; a provider whose secrets are missing refuses its webhooks (401) and is logged at start. */
export function loadIntegrationsConfig(env: NodeJS.ProcessEnv = process.env): IntegrationsConfig {
  // An empty variable (docker-compose's `${VAR:-}`) means unset.
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    throw new ConfigError(`invalid environment for integrations:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const e = parsed.data;
  let privateKey = e.AGF_GITHUB_PRIVATE_KEY;
  if (!privateKey && e.AGF_GITHUB_PRIVATE_KEY_FILE) {
    try {
      privateKey = readFileSync(e.AGF_GITHUB_PRIVATE_KEY_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(`invalid environment for integrations:\n  AGF_GITHUB_PRIVATE_KEY_FILE: cannot read it (${(error as Error).message})`);
    }
  }
  const token = e.AGF_INTEGRATIONS_TOKEN;
  return {
    github: { appId: e.AGF_GITHUB_APP_ID, privateKey: privateKey?.replace(/\\n/g, '\n'), webhookSecret: e.AGF_GITHUB_WEBHOOK_SECRET, apiUrl: e.AGF_GITHUB_API_URL.replace(/\/$/, '') },
    gitlab: { url: e.AGF_GITLAB_URL.replace(/\/$/, ''), token: e.AGF_GITLAB_TOKEN, webhookToken: e.AGF_GITLAB_WEBHOOK_TOKEN },
    submitAuthorization: token ? (/^Bearer /i.test(token) ? token : `Bearer ${token}`) : undefined,
    publicUrl: e.AGF_PUBLIC_URL,
    callbacks: { retryBaseMs: e.AGF_CALLBACK_RETRY_BASE_MS, maxAttempts: e.AGF_CALLBACK_MAX_ATTEMPTS, pollMs: e.AGF_CALLBACK_POLL_MS },
  };
}
