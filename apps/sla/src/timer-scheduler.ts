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
/**
 * Claim loops per replica during a burst: `SKIP LOCKED` gives each a disjoint batch, so many due timers drain
 * in parallel. Only one of them watches the clock; the others wait until it claims a full batch.
 */
export const FIRE_WORKERS = workerCount(process.env['AGF_SLA_FIRE_WORKERS']);

function workerCount(text: string | undefined): number {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isInteger(n) && n >= 1 && n <= 32 ? n : 4;
}

const MAX_BACKOFF_MS = 5000;
const LOCKED_BY_OTHERS_MS = 20;

/**
 * Fires due timers from the database, never from in-process `setTimeout`s per timer. One loop per replica
 * watches the clock: it asks for the next due time (one cheap read, so an idle service costs the database
 * five reads a second), sleeps until then (at most MAX_SLEEP_MS) and claims what is due in batches
 * (`FOR UPDATE SKIP LOCKED`, so replicas share the work and each timer fires once), emitting `sla.warning` /
 * `sla.breached` through the outbox in the same transaction. When it claims a full batch, helper loops join
 * until the backlog is drained. Timers that fell due while no replica ran are simply overdue rows: the first
 * loop after start-up fires them. Errors (database down) are logged and retried with backoff; the loops never
 * exit until shutdown.
 */
@Injectable()
export class TimerScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('sla');
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly idleHelpers = new Set<() => void>();

  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly dataSource: DataSource,
    private readonly metrics: SlaMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.running) return;
    this.running = true;
    this.loops = [this.watchClock(), ...Array.from({ length: FIRE_WORKERS - 1 }, () => this.helpWithBacklog())];
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    for (const wake of [...this.wakers, ...this.idleHelpers]) wake();
    await Promise.all(this.loops);
  }

  private async watchClock(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const { nextDueAt, now } = await repo.nextDue(this.dataSource);
        const delay = nextWakeDelay(nextDueAt, now, MAX_SLEEP_MS);
        const fired = delay === 0 ? await this.fireDueBatch() : 0;
        failures = 0;
        if (fired === FIRE_BATCH_SIZE) this.callHelpers();
        // Due but nothing claimed: another replica holds those rows for a moment; do not spin on them.
        else if (delay > 0 || fired === 0) await this.sleep(delay || LOCKED_BY_OTHERS_MS);
      } catch (error) {
        failures = await this.backOff(failures, error);
      }
    }
  }

  /** Sleeps until the clock watcher finds a backlog, then claims batches alongside it until one is not full. */
  private async helpWithBacklog(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (!failures) await new Promise<void>((resolve) => this.idleHelpers.add(resolve));
      try {
        while (this.running && (await this.fireDueBatch()) === FIRE_BATCH_SIZE);
        failures = 0;
      } catch (error) {
        failures = await this.backOff(failures, error);
      }
    }
  }

  private callHelpers(): void {
    for (const resume of this.idleHelpers) resume();
    this.idleHelpers.clear();
  }

  private async backOff(failures: number, error: unknown): Promise<number> {
    const count = failures + 1;
    if (count === 1 || count % 20 === 0) this.logger.warn(`timer scheduler: ${(error as Error).message}; retrying`);
    await this.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(count, 6)));
    return count;
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
