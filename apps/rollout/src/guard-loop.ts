import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { prometheusQueries } from '@agf/policy';
import type { Reading } from '@agf/rollout-domain';
import { DataSource } from 'typeorm';
import { pullSignals } from './prometheus';
import { rolloutRepository as repo, type RolloutRow } from './rollout.repository';
import { ROLLOUT_CONFIG, type RolloutConfig } from './rollout-config';
import { RolloutGuard } from './rollout-guard';
import { RolloutMetrics } from './rollout-metrics';

const EVALUATIONS_AT_ONCE = 4;

/**
 * The guard's clock: every tick it evaluates the rollouts whose interval has passed (querying Prometheus for them
 * first, outside any transaction) and fires due rollback timers. Each evaluation claims its rollout with `SKIP
 * LOCKED`, so replicas share the work and none evaluates a rollout twice.
 */
@Injectable()
export class GuardLoop implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('rollout-loop');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly guard: RolloutGuard,
    private readonly metrics: RolloutMetrics,
    @Inject(ROLLOUT_CONFIG) private readonly config: RolloutConfig,
  ) {}

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
        .catch((error: Error) => this.logger.warn(`guard tick: ${error.message}`))
        .then(() => this.schedule(this.config.tickMs));
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const due = await repo.dueRollouts(this.dataSource, 32);
    // A few at a time: each holds a connection, and HTTP requests need some too.
    for (let i = 0; i < due.length && !this.stopped; i += EVALUATIONS_AT_ONCE) {
      await Promise.all(due.slice(i, i + EVALUATIONS_AT_ONCE).map((rollout) => this.evaluate(rollout)));
    }
    while (!this.stopped && (await this.guard.fireRollbackTimers()));
  }

  private async evaluate(rollout: RolloutRow): Promise<void> {
    try {
      await this.guard.evaluateDue(rollout.requestId, await this.pull(rollout));
    } catch (error) {
      this.logger.warn(`evaluation of request ${rollout.requestId}: ${(error as Error).message}`);
    }
  }

  private async pull(rollout: RolloutRow): Promise<Reading[]> {
    const prometheus = this.guard.rolloutPolicy.prometheus;
    const queries = prometheusQueries(this.guard.rolloutPolicy, rollout.projectId);
    if (!prometheus || !Object.keys(queries).length) return [];
    const values = { project: rollout.projectId, component: rollout.componentName, version: rollout.version, request: rollout.requestId };
    return pullSignals(prometheus.url, queries, values, prometheus.timeout_seconds * 1000, (signal, message) => {
      this.metrics.prometheusErrors.inc({ signal });
      this.logger.warn(`Prometheus query ${signal} for request ${rollout.requestId} failed: ${message}`);
    });
  }
}
