import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { deliveriesRepository as repo } from './deliveries.repository';

/** Deliveries planned, attempted and dead-lettered, and the queue by status (read from the database at scrape). */
@Injectable()
export class NotifyMetrics {
  readonly planned: Counter<'kind'>;
  readonly skipped: Counter<'channel'>;
  readonly attempts: Counter<'kind' | 'outcome'>;
  readonly tooOld: Counter<never>;
  private readonly logger = new Logger('notify');

  constructor(metrics: MetricsService, dataSource: DataSource) {
    this.planned = metrics.counter('agf_notify_deliveries_planned_total', 'Deliveries queued, by channel kind', ['kind']);
    this.skipped = metrics.counter('agf_notify_deliveries_skipped_total', 'Deliveries a route asked for but that had no address (an expert without email or phone)', ['channel']);
    this.attempts = metrics.counter('agf_notify_delivery_attempts_total', 'Delivery attempts by outcome: sent, retry (failed, tried again later) or dead (dead-lettered)', ['kind', 'outcome']);
    this.tooOld = metrics.counter('agf_notify_events_too_old_total', 'Source events older than AGF_NOTIFY_MAX_EVENT_AGE_MS, not notified', []);
    if (!metrics.registry.getSingleMetric('agf_notify_deliveries')) {
      const logger = this.logger;
      new Gauge({
        name: 'agf_notify_deliveries',
        help: 'Deliveries in the queue by status (pending, sent, dead); dead ones wait for an operator',
        labelNames: ['status'],
        registers: [metrics.registry],
        async collect() {
          try {
            const counts = await repo.countsByStatus(dataSource);
            for (const [status, count] of Object.entries(counts)) this.set({ status }, count);
          } catch (error) {
            logger.warn(`delivery gauge: ${(error as Error).message}`);
          }
        },
      });
    }
  }
}
