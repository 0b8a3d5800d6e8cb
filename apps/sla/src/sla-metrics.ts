import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import { DataSource } from 'typeorm';
import { Counter, Gauge, Histogram } from 'prom-client';
import { timersRepository as repo } from './timers.repository';

/** Domain figures of the SLA service: timers scheduled, cancelled and fired, how late they fired, and the backlog. */
@Injectable()
export class SlaMetrics {
  readonly scheduled: Counter<'outcome'>;
  readonly cancelled: Counter<'reason'>;
  readonly fired: Counter<'kind'>;
  readonly lag: Histogram<'kind'>;
  private readonly logger = new Logger('sla');

  constructor(metrics: MetricsService, dataSource: DataSource) {
    this.scheduled = metrics.counter('agf_sla_timers_scheduled_total', 'Timers stored from review.assigned, live or already cancelled', ['outcome']);
    this.cancelled = metrics.counter('agf_sla_timers_cancelled_total', 'Open timers cancelled, by reason', ['reason']);
    this.fired = metrics.counter('agf_sla_timers_fired_total', 'SLA timers fired (sla.warning / sla.breached emitted)', ['kind']);
    this.lag = metrics.histogram('agf_sla_timer_lag_seconds', 'How long after its due time a timer fired', ['kind'], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600]);
    if (!metrics.registry.getSingleMetric('agf_sla_open_timers')) {
      const logger = this.logger;
      // Read at scrape time from the database, so every replica reports the shared backlog.
      new Gauge({
        name: 'agf_sla_open_timers',
        help: 'Timers neither fired nor cancelled; state="overdue" are already due',
        labelNames: ['state'],
        registers: [metrics.registry],
        async collect() {
          try {
            const { open, overdue } = await repo.openCounts(dataSource);
            this.set({ state: 'scheduled' }, open - overdue);
            this.set({ state: 'overdue' }, overdue);
          } catch (error) {
            logger.warn(`open timer gauge: ${(error as Error).message}`);
          }
        },
      });
    }
  }
}
