import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { callbackBackoffMs, callbackRetryable } from '@agf/integrations-domain';
import { DataSource } from 'typeorm';
import { CallbackError, CallbackSender } from './callback-sender';
import { gatesRepository as repo } from './gates.repository';
import { type IntegrationsConfig, INTEGRATIONS_CONFIG } from './integrations-config';
import { IntegrationsMetrics } from './integrations-metrics';

/**
 * Works the callback queue: each due callback is claimed in a transaction (other replicas skip it), sent,
 * and marked sent, or rescheduled with backoff, or given up on an answer that cannot get better. A row is
 * marked sent once, so each gate is answered once (a crash between GitHub's 2xx and the commit sends it again,
 * which GitHub answers without effect for a deployment already reviewed).
 */
@Injectable()
export class CallbackDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('callbacks');
  private readonly sender: CallbackSender;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(INTEGRATIONS_CONFIG) private readonly config: IntegrationsConfig,
    private readonly metrics: IntegrationsMetrics,
  ) {
    this.sender = new CallbackSender(config);
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((error: Error) => this.logger.warn(`callback queue: ${error.message}`))
        .then((more) => this.schedule(more ? 0 : this.config.callbacks.pollMs));
    }, delayMs);
    this.timer.unref();
  }

  /** True when a full batch was worked (more may be due). */
  private async tick(): Promise<boolean> {
    const batch = 16;
    return this.dataSource.transaction(async (manager) => {
      const due = await repo.claimDue(manager, batch);
      for (const callback of due) {
        try {
          await this.sender.send(callback);
          await repo.markSent(manager, callback.gateKey);
          this.metrics.callbacks.inc({ provider: callback.provider, result: 'sent' });
          this.logger.log(`${callback.provider} callback for request ${callback.requestId}: ${callback.approved ? 'approved' : 'rejected'}`);
        } catch (error) {
          const status = error instanceof CallbackError ? error.status : undefined;
          const attempt = callback.attempts + 1;
          const retry = callbackRetryable(status) && attempt < this.config.callbacks.maxAttempts;
          await repo.markFailedAttempt(manager, callback.gateKey, (error as Error).message, retry ? callbackBackoffMs(attempt, this.config.callbacks.retryBaseMs) : null);
          this.metrics.callbacks.inc({ provider: callback.provider, result: retry ? 'retry' : 'failed' });
          this.logger.warn(`${callback.provider} callback for request ${callback.requestId} failed (attempt ${attempt}): ${(error as Error).message}${retry ? '' : '; giving up'}`);
        }
      }
      return due.length === batch;
    });
  }
}
