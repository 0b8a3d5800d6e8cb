import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import type { Counter } from 'prom-client';

/** Deployment outcomes learning has recorded: a rise in rollbacks shows here before the risk scores move. */
@Injectable()
export class LearningMetrics {
  private readonly outcomes: Counter<'status'>;

  constructor(metrics: MetricsService) {
    this.outcomes = metrics.counter('agf_learning_outcomes_total', 'Deployment outcomes recorded by learning, by status', ['status']);
  }

  outcomeRecorded(status: string): void {
    this.outcomes.inc({ status });
  }
}
