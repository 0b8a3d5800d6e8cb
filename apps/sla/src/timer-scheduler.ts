import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { TransactionalPublisher } from '@agf/messaging';
import { firingLagSeconds, nextWakeDelay, timerEventId, timerEventName, timerFiredPayload } from '@agf/sla-domain';
import { DataSource } from 'typeorm';
import { SlaMetrics } from './sla-metrics';
import { type TimerRow, timersRepository as repo } from './timers.repository';

/** Timers claimed (and events written) per transaction. */
export const FIRE_BATCH_SIZE = 500;
/** Longest sleep: bounds how late a timer stored by another replica (or a missed wake-up) can fire. */
export const MAX_SLEEP_MS = 200;
/** Claim loops per replica: `SKIP LOCKED` gives each a disjoint batch, so a burst of due timers drains in parallel. */
export const FIRE_WORKERS = workerCount(process.env['AGF_SLA_FIRE_WORKERS']);

function workerCount(text: string | undefined): number {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isInteger(n) && n >= 1 && n <= 32 ? n : 4;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Fires due timers from the database, never from in-process `setTimeout`s per timer: a few loops claim due
 * rows in batches (`FOR UPDATE SKIP LOCKED`, so replicas share the work and each timer fires once), emits
 * `sla.warning` / `sla.breached` through the outbox in the same transaction, then sleeps until the next due
 * time (at most MAX_SLEEP_MS). Timers that fell due while no replica ran are simply overdue rows: the first
 * loop after start-up fires them. Errors (database down) are logged and retried with backoff; the loop never exits
 * until shutdown.
 */
@Injectable()
export class TimerScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('sla');
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly dataSource: DataSource,
    private readonly metrics: SlaMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: FIRE_WORKERS }, () => this.run());
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    for (const wake of [...this.wakers]) wake();
    await Promise.all(this.loops);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const fired = await this.fireDueBatch();
        failures = 0;
        if (fired === FIRE_BATCH_SIZE) continue; // more may be due right now
        const { nextDueAt, now } = await repo.nextDue(this.dataSource);
        await this.sleep(nextWakeDelay(nextDueAt, now, MAX_SLEEP_MS));
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) this.logger.warn(`timer scheduler: ${(error as Error).message}; retrying`);
        await this.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /** One transaction: claim due timers, mark them fired, write their events to the outbox. */
  private async fireDueBatch(): Promise<number> {
    const fired = await this.publisher.transaction(async (tx) => {
      const due = await repo.claimDue(tx.manager, FIRE_BATCH_SIZE);
      for (const timer of due) {
        tx.emit({
          name: timerEventName(timer.kind),
          correlationId: timer.requestId,
          causationId: timer.causeEventId ?? undefined,
          // Same timer → same event id, whoever fires it: the outbox and JetStream drop a second copy.
          id: timerEventId(timer.assignmentId, timer.kind),
          data: timerFiredPayload(timer, timer.firedAt!),
        });
      }
      return due;
    });
    this.observe(fired);
    return fired.length;
  }

  private observe(fired: TimerRow[]): void {
    for (const timer of fired) {
      this.metrics.fired.inc({ kind: timer.kind });
      this.metrics.lag.observe({ kind: timer.kind }, firingLagSeconds(timer.dueAt, timer.firedAt!));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
