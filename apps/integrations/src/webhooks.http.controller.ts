import { Controller, Headers, HttpCode, Inject, Logger, Post, Req } from '@nestjs/common';
import { subjectFor } from '@agf/contracts';
import { type Gate, githubSignatureValid, gitlabTokenValid, readGithubWebhook, readGitlabWebhook, type WebhookReading } from '@agf/integrations-domain';
import { Namespace } from '@agf/messaging';
import { AccessRefusals, NAMESPACE, NATS_CONNECTION, POLICY, ProblemError, rawBodyOf, SelfAuthenticated } from '@agf/platform';
import { type GovernancePolicy, repositoryProjects } from '@agf/policy';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { gatesRepository as repo } from './gates.repository';
import { type IntegrationsConfig, INTEGRATIONS_CONFIG } from './integrations-config';
import { IntegrationsMetrics } from './integrations-metrics';

export const GITHUB_WEBHOOK_PATH = '/v1/integrations/github/webhook';
export const GITLAB_WEBHOOK_PATH = '/v1/integrations/gitlab/webhook';

export interface WebhookAnswer {
  status: 'submitted' | 'ignored';
  gateKey?: string;
  reason?: string;
}

/**
 * The deployment webhooks. They carry no bearer credential: GitHub signs each delivery with the webhook
 * secret, GitLab sends its secret token; a delivery failing that check is refused (401, recorded) before its
 * body is read. A verified deployment becomes a gate and an `agf.v1.intake.submit` under this service's own
 * credential, with the gate key as `Nats-Msg-Id` (and so as intake's idempotency key).
 */
@Controller()
@SelfAuthenticated()
export class WebhooksHttpController {
  private readonly logger = new Logger('webhooks');

  constructor(
    private readonly dataSource: DataSource,
    private readonly refusals: AccessRefusals,
    private readonly metrics: IntegrationsMetrics,
    @Inject(INTEGRATIONS_CONFIG) private readonly config: IntegrationsConfig,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(NAMESPACE) private readonly namespace: Namespace,
  ) {}

  @Post(GITHUB_WEBHOOK_PATH.slice(1))
  @HttpCode(202)
  async github(@Req() req: Request, @Headers('x-hub-signature-256') signature: string | undefined, @Headers('x-github-event') event: string | undefined, @Headers('x-github-delivery') delivery: string | undefined): Promise<WebhookAnswer> {
    const secret = this.config.github.webhookSecret;
    const raw = rawBodyOf(req);
    if (!secret || !raw || !githubSignatureValid(raw, signature, secret)) {
      this.metrics.webhooks.inc({ provider: 'github', result: 'refused' });
      throw this.refusals.refuseHttp(req, 'unauthenticated', !secret ? 'GitHub webhooks are not configured (AGF_GITHUB_WEBHOOK_SECRET)' : 'missing or wrong X-Hub-Signature-256');
    }
    return this.take('github', readGithubWebhook(event, delivery, req.body, this.repositories()));
  }

  @Post(GITLAB_WEBHOOK_PATH.slice(1))
  @HttpCode(202)
  async gitlab(@Req() req: Request, @Headers('x-gitlab-token') token: string | undefined, @Headers('x-gitlab-event') event: string | undefined): Promise<WebhookAnswer> {
    const secret = this.config.gitlab.webhookToken;
    if (!secret || !gitlabTokenValid(token, secret)) {
      this.metrics.webhooks.inc({ provider: 'gitlab', result: 'refused' });
      throw this.refusals.refuseHttp(req, 'unauthenticated', !secret ? 'GitLab webhooks are not configured (AGF_GITLAB_WEBHOOK_TOKEN)' : 'missing or wrong X-Gitlab-Token');
    }
    return this.take('gitlab', readGitlabWebhook(event, req.body, this.config.gitlab.url, this.repositories()));
  }

  private repositories(): Record<string, string> {
    return repositoryProjects(this.policy.projects);
  }

  private async take(provider: 'github' | 'gitlab', reading: WebhookReading): Promise<WebhookAnswer> {
    if (reading.kind === 'invalid') {
      this.metrics.webhooks.inc({ provider, result: 'invalid' });
      throw new ProblemError(400, 'invalid-request', 'Bad Request', reading.reason);
    }
    if (reading.kind === 'ignored') {
      this.metrics.webhooks.inc({ provider, result: 'ignored' });
      return { status: 'ignored', reason: reading.reason };
    }
    if (!this.config.submitAuthorization) {
      throw new ProblemError(503, 'not-configured', 'Service Unavailable', 'AGF_INTEGRATIONS_TOKEN is not set: this service has no credential to submit deployments with');
    }
    const gate = reading.gate;
    const fresh = await repo.insertGate(this.dataSource, gate);
    // Submitted again on a redelivery: if the first publish failed, this one creates the request; if not,
    // JetStream's duplicate window and intake's idempotency key make it a no-op.
    await this.submit(gate);
    this.metrics.webhooks.inc({ provider, result: fresh ? 'submitted' : 'redelivered' });
    if (fresh) this.logger.log(`${provider} deployment of ${gate.projectId} to ${gate.environment}: submitted as ${gate.gateKey}`);
    return { status: 'submitted', gateKey: gate.gateKey };
  }

  private async submit(gate: Gate): Promise<void> {
    const headers = natsHeaders();
    headers.set('Authorization', this.config.submitAuthorization!);
    try {
      await jetstream(this.nc).publish(this.namespace.subject(subjectFor('intake.submit')), JSON.stringify(gate.submission), { msgID: gate.gateKey, headers });
    } catch (error) {
      throw new ProblemError(503, 'unavailable', 'Service Unavailable', `could not submit the deployment (${(error as Error).message}); redeliver the webhook`, undefined, { 'Retry-After': '10' });
    }
  }
}
