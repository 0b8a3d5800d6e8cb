import { type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';

export interface OutboxRelayOptions {
  schema: string;
  batchSize: number;
  /** Poll interval when nobody kicks the relay: picks up rows of crashed processes and other replicas. */
  idleDelayMs: number;
  /** Sent rows older than this are deleted; they only matter for JetStream's duplicate window. */
  retainSentMs: number;
  logger: { warn(message: string): void; error(message: string): void };
  onPublished?: (count: number) => void;
}

interface PendingRow {
  seq: string;
  event_id: string;
  subject: string;
  payload: string;
  headers: Record<string, string>;
}

/**
 * Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = event id, then marks them sent.
 * `FOR UPDATE SKIP LOCKED` lets replicas share the work; a crash between publish and mark only causes a
 * re-publish that JetStream's duplicate window drops.
 */
export class OutboxRelay {
  private running = false;
  private wake: (() => void) | undefined;
  private kicked = false;
  private loop: Promise<void> | undefined;
  private lastPurge = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly js: JetStreamClient,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called after a commit that wrote outbox rows, so they go out now rather than at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Rows not yet sent: the fault suite and health report read this. */
  async pendingCount(): Promise<number> {
    const rows: { n: string }[] = await this.dataSource.query(`SELECT count(*) AS n FROM "${this.options.schema}"."outbox" WHERE "sent_at" IS NULL`);
    return Number(rows[0]?.n ?? 0);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        this.kicked = false;
        const sent = await this.publishBatch();
        failures = 0;
        if (sent === this.options.batchSize) continue;
        await this.maybePurge();
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) this.options.logger.warn(`outbox relay: ${(error as Error).message}; retrying`);
        await this.sleep(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
        continue;
      }
      if (!this.kicked) await this.sleep(this.options.idleDelayMs);
    }
  }

  private async publishBatch(): Promise<number> {
    const { schema, batchSize } = this.options;
    return this.dataSource.transaction(async (manager) => {
      const rows: PendingRow[] = await manager.query(
        `SELECT "seq", "event_id", "subject", "payload", "headers" FROM "${schema}"."outbox"
          WHERE "sent_at" IS NULL ORDER BY "seq" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSize],
      );
      if (!rows.length) return 0;
      await Promise.all(
        rows.map((row) => {
          const h = natsHeaders();
          for (const [key, value] of Object.entries(row.headers ?? {})) h.set(key, value);
          return this.js.publish(row.subject, row.payload, { msgID: row.event_id, headers: h, timeout: 5000 });
        }),
      );
      await manager.query(`UPDATE "${schema}"."outbox" SET "sent_at" = now() WHERE "seq" = ANY($1::bigint[])`, [rows.map((r) => r.seq)]);
      this.options.onPublished?.(rows.length);
      return rows.length;
    });
  }

  private async maybePurge(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    await this.dataSource.query(
      `DELETE FROM "${this.options.schema}"."outbox" WHERE "sent_at" < now() - ($1::int * interval '1 millisecond')`,
      [this.options.retainSentMs],
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
