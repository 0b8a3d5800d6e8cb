import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import { Counter, Histogram } from 'prom-client';

/** What the guard does: evaluations by verdict, rollbacks requested, and how fast a failing signal became a rollback. */
@Injectable()
export class RolloutMetrics {
  readonly evaluations: Counter<'verdict' | 'emergency'>;
  readonly rollbacks: Counter<'project'>;
  readonly pauses: Counter<'project'>;
  readonly prometheusErrors: Counter<'signal'>;
  readonly rollbackReaction: Histogram;

  constructor(metrics: MetricsService) {
    this.evaluations = metrics.counter('agf_rollout_evaluations_total', 'Rollout evaluations, by verdict', ['verdict', 'emergency']);
    this.rollbacks = metrics.counter('agf_rollout_rollbacks_requested_total', 'Rollbacks AGF requested', ['project']);
    this.pauses = metrics.counter('agf_rollout_pauses_total', 'Rollouts paused after too many inconclusive evaluations', ['project']);
    this.prometheusErrors = metrics.counter('agf_rollout_prometheus_errors_total', 'Prometheus queries that failed', ['signal']);
    this.rollbackReaction = metrics.histogram('agf_rollout_rollback_reaction_seconds', 'From the failing signal to rollback.requested', [], [1, 5, 10, 30, 60, 120, 300]);
  }
}
