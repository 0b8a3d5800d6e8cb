import { Injectable } from '@nestjs/common';
import type { RiskAssessed } from '@agf/contracts';
import { MetricsService } from '@agf/platform';
import type { Histogram } from 'prom-client';

/** Distribution of the scores risk publishes: a drift here shows before reviewers notice it. */
@Injectable()
export class RiskMetrics {
  private readonly scores: Histogram<'score'>;

  constructor(metrics: MetricsService) {
    this.scores = metrics.histogram('agf_risk_score', 'Scores of published risk assessments, by score kind', ['score'], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  }

  observe(assessed: RiskAssessed): void {
    this.scores.observe({ score: 'overall' }, assessed.overallScore);
    this.scores.observe({ score: 'security' }, assessed.securityScore);
    this.scores.observe({ score: 'complexity' }, assessed.complexityScore);
    this.scores.observe({ score: 'impact' }, assessed.impactScore);
    this.scores.observe({ score: 'historical' }, assessed.historicalScore);
    this.scores.observe({ score: 'confidence' }, assessed.confidence);
  }
}
