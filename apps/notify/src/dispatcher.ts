import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { afterFailure } from '@agf/notify-domain';
import { DataSource } from 'typeorm';
import { ChannelSenders, DeliveryFailure } from './channel-senders';
import { type DeliveryRow, deliveriesRepository as repo } from './deliveries.repository';
import { NOTIFY_CONFIG, type NotifyConfig } from './notify-config';
import { NotifyMetrics } from './notify-metrics';

/**
 * Sends due deliveries with bounded concurrency. Rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease,
 * so replicas share the queue and a delivery whose sender died is taken again once its lease ran out. A
 * failure is retried with exponential backoff and jitter for the retry window (24 h), then dead-lettered.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('notify');
  private stopped = false;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    @Inject(NOTIFY_CONFIG) private readonly config: NotifyConfig,
    private readonly dataSource: DataSource,
    private readonly senders: ChannelSenders,
    private readonly metrics: NotifyMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    // Deliveries in flight finish (or time out); one cut off would only be sent again after its lease.
    await Promise.allSettled([...this.running]);
  }

  /** New deliveries were committed: look at once instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** How long a claimed delivery stays this process's: longer than any attempt can take. */
  private get leaseMs(): number {
    return this.config.sendTimeoutMs * 2 + 5_000;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.config.concurrency - this.inFlight;
      let claimed: DeliveryRow[] = [];
      if (free > 0) {
        try {
          claimed = await repo.claimDue(this.dataSource, free, this.leaseMs);
        } catch (error) {
          if (!this.stopped) this.logger.warn(`claiming deliveries failed (${(error as Error).message}); next try in ${this.config.pollMs} ms`);
        }
      }
      for (const delivery of claimed) this.start(delivery);
      // A full claim may have left more due rows: claim again as soon as a slot frees (start wakes the loop).
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, claimed.length === free && free > 0 ? 0 : this.config.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private start(delivery: DeliveryRow): void {
    this.inFlight += 1;
    const attempt = this.attempt(delivery).finally(() => {
      this.inFlight -= 1;
      this.running.delete(attempt);
      this.wake();
    });
    this.running.add(attempt);
  }

  private async attempt(delivery: DeliveryRow): Promise<void> {
    try {
      await this.senders.send(delivery);
    } catch (error) {
      await this.failed(delivery, error);
      return;
    }
    try {
      await repo.markSent(this.dataSource, delivery.id);
      this.metrics.attempts.inc({ kind: delivery.channelKind, outcome: 'sent' });
    } catch (error) {
      // Sent but not recorded: the lease runs out and it is sent again, with the same id for the receiver to drop.
      this.logger.warn(`delivery ${delivery.id} was sent but not recorded (${(error as Error).message})`);
    }
  }

  private async failed(delivery: DeliveryRow, error: unknown): Promise<void> {
    const reason = error instanceof DeliveryFailure ? error.message : `unexpected: ${(error as Error).name}`;
    if (!(error instanceof DeliveryFailure)) this.logger.error(`delivery ${delivery.id}: ${(error as Error).stack ?? String(error)}`);
    const permanent = error instanceof DeliveryFailure && error.permanent;
    const outcome = permanent ? ({ status: 'dead' } as const) : afterFailure(new Date(delivery.createdAt), delivery.attempts + 1, new Date(), this.config.backoff);
    try {
      await repo.markFailed(this.dataSource, delivery.id, outcome, reason);
      this.metrics.attempts.inc({ kind: delivery.channelKind, outcome: outcome.status === 'dead' ? 'dead' : 'retry' });
      const what = `delivery ${delivery.id} (${delivery.event} via ${delivery.channel} to ${delivery.recipient}), attempt ${delivery.attempts + 1}: ${reason}`;
      if (outcome.status === 'dead') this.logger.error(`${what}; dead-lettered`);
      else this.logger.warn(`${what}; next try at ${outcome.nextAttemptAt.toISOString()}`);
    } catch (markError) {
      this.logger.warn(`delivery ${delivery.id} failed and could not be recorded (${(markError as Error).message}); retried after its lease`);
    }
  }
}
