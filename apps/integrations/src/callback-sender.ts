import { createAppAuth } from '@octokit/auth-app';
import { request } from '@octokit/request';
import { githubCallbackBody, gitlabApprovalBody } from '@agf/integrations-domain';
import type { IntegrationsConfig } from './integrations-config';
import type { DueCallback } from './gates.repository';

/** A failed callback: `status` is the HTTP answer, absent for a network error or missing configuration. */
export class CallbackError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 10_000;

/**
 * Sends one callback. GitHub: authenticated as the App's installation (an installation token that
 * `@octokit/auth-app` obtains with the App's JWT and caches until shortly before it expires).
 * GitLab: the configured access token in `PRIVATE-TOKEN`.
 */
export class CallbackSender {
  private githubAuth?: ReturnType<typeof createAppAuth>;

  constructor(private readonly config: IntegrationsConfig) {}

  async send(callback: DueCallback): Promise<void> {
    if (callback.provider === 'github') return this.github(callback);
    return this.gitlab(callback);
  }

  private async github(callback: DueCallback): Promise<void> {
    const { appId, privateKey, apiUrl } = this.config.github;
    if (!appId || !privateKey) throw new CallbackError('AGF_GITHUB_APP_ID and AGF_GITHUB_PRIVATE_KEY (or _FILE) are not configured');
    if (!callback.installationId) throw new CallbackError('the gate has no installation id');
    const github = request.defaults({ baseUrl: apiUrl, request: { signal: AbortSignal.timeout(TIMEOUT_MS) } });
    this.githubAuth ??= createAppAuth({ appId, privateKey, request: github });
    try {
      const { token } = await this.githubAuth({ type: 'installation', installationId: callback.installationId });
      await github({
        method: 'POST',
        url: callback.callbackUrl,
        headers: { authorization: `token ${token}`, 'x-github-api-version': '2022-11-28' },
        ...githubCallbackBody(callback.environment, callback),
      });
    } catch (error) {
      const status = (error as { status?: number }).status;
      throw new CallbackError(`GitHub: ${(error as Error).message}`, typeof status === 'number' && status > 0 ? status : undefined);
    }
  }

  private async gitlab(callback: DueCallback): Promise<void> {
    if (!this.config.gitlab.token) throw new CallbackError('AGF_GITLAB_TOKEN is not configured');
    let response: Response;
    try {
      response = await fetch(callback.callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'private-token': this.config.gitlab.token },
        body: JSON.stringify(gitlabApprovalBody(callback)),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new CallbackError(`GitLab: ${(error as Error).message}`);
    }
    if (!response.ok) throw new CallbackError(`GitLab: HTTP ${response.status} ${(await response.text().catch(() => '')).slice(0, 200)}`, response.status);
  }
}
