import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import { Counter } from 'prom-client';

/** What the integrations do: webhooks taken, callbacks sent, and what shadow-mode projects would have had blocked. */
@Injectable()
export class IntegrationsMetrics {
  readonly webhooks: Counter<'provider' | 'result'>;
  readonly callbacks: Counter<'provider' | 'result'>;
  readonly shadowWouldBlock: Counter<'project'>;

  constructor(metrics: MetricsService) {
    this.webhooks = metrics.counter('agf_integration_webhooks_total', 'Deployment webhooks received, by provider and result', ['provider', 'result']);
    this.callbacks = metrics.counter('agf_integration_callbacks_total', 'Callback attempts to GitHub / GitLab, by result', ['provider', 'result']);
    this.shadowWouldBlock = metrics.counter('agf_shadow_would_block_total', 'Decisions of shadow-mode projects that would have blocked the deployment', ['project']);
  }
}
