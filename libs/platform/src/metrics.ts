import { Roles } from './auth/http-auth';
import { Controller, Get, Header, Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { HandlerObserver } from '@agf/messaging';
import { statementsSent } from './database';

export const SERVICE_NAME = Symbol('SERVICE_NAME');

/** One registry per process; every metric is prefixed `agf_` and labelled with the service. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly messages: Counter<'consumer' | 'message' | 'result'>;
  private readonly handlerDuration: Histogram<'consumer' | 'message' | 'result'>;
  readonly outboxPublished: Counter;

  constructor(@Inject(SERVICE_NAME) service: string) {
    this.registry.setDefaultLabels({ service });
    // The event-loop delay histogram samples every 100 ms rather than prom-client's 10 ms: its timer woke each
    // idle service 100 times a second, 0.6 % of a core per process (seven on one host) for a figure that is
    // read every scrape.
    collectDefaultMetrics({ register: this.registry, prefix: 'agf_', eventLoopMonitoringPrecision: 100 });
    const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.httpRequests = new Counter({ name: 'agf_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.httpDuration = new Histogram({ name: 'agf_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'], buckets, registers: [this.registry] });
    this.messages = new Counter({ name: 'agf_messages_total', help: 'Messages handled, by consumer, message and result (processed, duplicate, ignored, retried, dead_lettered)', labelNames: ['consumer', 'message', 'result'], registers: [this.registry] });
    this.handlerDuration = new Histogram({ name: 'agf_message_handler_duration_seconds', help: 'Message handling duration including its transaction', labelNames: ['consumer', 'message', 'result'], buckets, registers: [this.registry] });
    this.outboxPublished = new Counter({ name: 'agf_outbox_published_total', help: 'Events published from the outbox', registers: [this.registry] });
    new Counter({
      name: 'agf_db_statements_total',
      help: 'Statements sent to Postgres, transaction control included: the cost that grows with every handler step',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(statementsSent.count);
      },
    });
  }

  /**
   * Events committed and not yet published, and how long the oldest has waited, read at each scrape: an age
   * that keeps growing means the relay is stuck (NATS unreachable, or a row it cannot publish: see the log).
   */
  trackOutbox(outbox: { pendingCount(): Promise<number>; oldestPendingAgeSeconds(): Promise<number> }): void {
    const gauge = (name: string, help: string, read: () => Promise<number>) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          // Postgres unreachable: the rest of /metrics is still served; the readiness probe reports the outage.
          this.set(await read().catch(() => Number.NaN));
        },
      });
    gauge('agf_outbox_unsent_events', 'Events committed to the outbox and not yet published', () => outbox.pendingCount());
    gauge('agf_outbox_oldest_unsent_seconds', 'Age of the oldest event not yet published (0 when none)', () => outbox.oldestPendingAgeSeconds());
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  readonly observeMessage: HandlerObserver = ({ consumer, message, result, seconds }) => {
    this.messages.inc({ consumer, message, result });
    this.handlerDuration.observe({ consumer, message, result }, seconds);
  };

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    return (existing as Counter<L>) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets?: number[]): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    return (existing as Histogram<L>) ?? new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}

/**
 * Rate, errors and duration of every HTTP request, labelled by the route template (not the raw URL), or
 * `unmatched` when no route took it (a 404, or a 413 / 429 answered before routing). Express middleware
 * rather than a global Nest interceptor: an interceptor also wraps every message handler of the service in
 * rxjs observables, a tenth or more of what the services allocated per message.
 */
export function httpMetricsMiddleware(metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.observeHttp(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}

@Controller('metrics')
@Roles('admin', 'auditor', 'metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
