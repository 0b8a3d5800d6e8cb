import { type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DataSource } from 'typeorm';
import type { OutboxRow } from './outbox';

export interface OutboxRelayOptions {
  schema: string;
  batchSize: number;
  /** Poll interval: picks up rows whose publish failed, and rows of crashed processes and other replicas. */
  idleDelayMs: number;
  /**
   * The poller leaves rows younger than this to the process that committed them, which publishes them right
   * after its commit (its own poller skips them however long that takes). A row that another replica's
   * poller takes anyway is published twice: JetStream de-duplicates it, a plain NATS subscriber sees both.
   */
  graceMs?: number;
  logger: { warn(message: string): void; error(message: string): void };
  onPublished?: (count: number) => void;
}

/**
 * How long published rows wait to be deleted together with those of other commits. The delete is a statement
 * of its own: at 20 ms the decision path's services each sent one for nearly every commit up to ~50 a second,
 * and at 100 ms the five services that publish for a decision sent 0.5 per decision at 100 decisions a second.
 * A published row stays a little longer; nothing reads it that soon (the poller leaves rows alone for
 * `graceMs`, 5 s in the services, and a row published twice is dropped by JetStream's duplicate window).
 */
const DELETE_DELAY_MS = 500;

interface PendingRow {
  seq: string;
  event_id: string;
  subject: string;
  payload: string;
  headers: Record<string, string>;
}

/**
 * Publishes committed outbox rows to JetStream with `Nats-Msg-Id` = event id, then deletes them: every row
 * in an outbox is one still to publish.
 *
 * The process that committed rows publishes them at once (`publishCommitted`) and deletes them in one
 * statement shared with other commits, so a hop costs no transaction of its own. A poller picks up what that
 * missed: rows whose publish failed (NATS down), and rows of a process that crashed after its commit; it skips
 * the rows its own process is still publishing or deleting. `FOR UPDATE SKIP LOCKED` lets replicas share the
 * polling; a row published twice (a crash between publish and delete, or another replica's poller racing a
 * publish slower than `graceMs`) is dropped by JetStream's duplicate window.
 */
export class OutboxRelay {
  private running = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly publishing = new Set<Promise<void>>();
  private readonly publishedIds: string[] = [];
  /** Event ids published after their commit and not yet deleted: this process's poller leaves them alone. */
  private readonly inFlight = new Set<string>();
  private deleting: Promise<void> | undefined;
  private readonly reportedUnpublishable = new Set<string>();

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

  /**
   * Called right after a commit with the rows it wrote: publishes them now rather than at the next poll. A
   * failed publish is left to the poller. Nothing is published while the relay is paused (not started).
   */
  publishCommitted(rows: readonly OutboxRow[]): void {
    if (!this.running || !rows.length) return;
    for (const row of rows) this.inFlight.add(row.eventId);
    const work = Promise.all(rows.map((row) => this.publish(row))).then(
      () => {
        for (const row of rows) this.publishedIds.push(row.eventId);
        // A moment's wait lets the publishes of concurrent commits share the delete: under load one statement
        // deletes the rows of many transactions (the poller leaves young rows alone for `graceMs` anyway).
        this.deleting ??= new Promise((resolve) => setTimeout(resolve, DELETE_DELAY_MS)).then(() => this.deletePublished());
      },
      () => {
        for (const row of rows) this.inFlight.delete(row.eventId); // the poller retries them once NATS answers again
      },
    );
    this.publishing.add(work);
    void work.finally(() => this.publishing.delete(work));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.publishing]);
    await this.deleting;
  }

  /** Rows not yet sent: the fault suite and health report read this. */
  async pendingCount(): Promise<number> {
    const rows: { n: string }[] = await this.dataSource.query(`SELECT count(*) AS n FROM "${this.options.schema}"."outbox"`);
    return Number(rows[0]?.n ?? 0);
  }

  /** Seconds the oldest unsent row has waited (0 when there is none). */
  async oldestPendingAgeSeconds(): Promise<number> {
    const rows: { age: number }[] = await this.dataSource.query(
      `SELECT extract(epoch FROM now() - "created_at")::float8 AS "age" FROM "${this.options.schema}"."outbox" ORDER BY "seq" LIMIT 1`,
    );
    return rows[0]?.age ?? 0;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const sent = await this.publishBatch();
        failures = 0;
        if (sent === this.options.batchSize) continue;
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) this.options.logger.warn(`outbox relay: ${(error as Error).message}; retrying`);
        await this.sleep(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
        continue;
      }
      await this.sleep(this.options.idleDelayMs);
    }
  }

  private publish(row: OutboxRow): Promise<unknown> {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(row.headers)) h.set(key, value);
    return this.js.publish(row.subject, row.payload, { msgID: row.eventId, headers: h, timeout: 5000 });
  }

  /** Deletes every row published since the last delete in one statement. */
  private async deletePublished(): Promise<void> {
    try {
      while (this.publishedIds.length) {
        const ids = this.publishedIds.splice(0);
        try {
          await this.dataSource.query(`DELETE FROM "${this.options.schema}"."outbox" WHERE "event_id" = ANY($1::uuid[])`, [ids]);
          this.options.onPublished?.(ids.length);
        } catch (error) {
          // Rows left are published again by the poller (so the outbox drains), and de-duplicated by JetStream.
          this.options.logger.warn(`outbox relay: deleting ${ids.length} published rows failed (${(error as Error).message})`);
          for (const id of this.publishedIds.splice(0)) this.inFlight.delete(id);
          return;
        } finally {
          for (const id of ids) this.inFlight.delete(id);
        }
      }
    } finally {
      this.deleting = undefined;
    }
  }

  private async publishBatch(): Promise<number> {
    const { schema, batchSize, graceMs = 0 } = this.options;
    // Almost every poll finds nothing: one indexed read decides that, instead of a transaction of three statements.
    const oldest: { due: boolean }[] = await this.dataSource.query(
      `SELECT "created_at" < now() - ($1::int * interval '1 millisecond') AS "due" FROM "${schema}"."outbox" ORDER BY "seq" LIMIT 1`,
      [graceMs],
    );
    if (!oldest[0]?.due) return 0;
    return this.dataSource.transaction(async (manager) => {
      const candidates: PendingRow[] = await manager.query(
        // Only the oldest rows are looked at: during a backlog every row is young, and finding that out row by
        // row cost each poll thousands of row visits.
        `SELECT "seq", "event_id", "subject", "payload", "headers" FROM "${schema}"."outbox"
          WHERE "seq" IN (SELECT "seq" FROM "${schema}"."outbox" ORDER BY "seq" LIMIT $1)
            AND "created_at" < now() - ($2::int * interval '1 millisecond')
          ORDER BY "seq" FOR UPDATE SKIP LOCKED`,
        [batchSize, graceMs],
      );
      // Rows this process is still publishing are left to it (filtered here: a list of ids in the query costs
      // Postgres a comparison per row and id).
      const rows = candidates.filter((row) => !this.inFlight.has(row.event_id));
      if (!rows.length) return 0;
      const results = await Promise.allSettled(
        rows.map((row) => this.publish({ eventId: row.event_id, subject: row.subject, payload: row.payload, headers: row.headers ?? {} })),
      );
      const published = rows.filter((_, i) => results[i]!.status === 'fulfilled');
      const failures = results.flatMap((result, i) => (result.status === 'rejected' ? [{ row: rows[i]!, error: result.reason as Error }] : []));
      // Nothing went out (NATS unreachable): back off. Otherwise a row that cannot be published (say, over the
      // server's max_payload) must not hold up the rows behind it: they are deleted, it is reported and retried.
      if (!published.length) throw new Error(`${failures[0]!.error.message} (${failures.length} rows, the first event ${failures[0]!.row.event_id})`);
      await manager.query(`DELETE FROM "${schema}"."outbox" WHERE "seq" = ANY($1::bigint[])`, [published.map((r) => r.seq)]);
      this.options.onPublished?.(published.length);
      for (const { row, error } of failures) this.reportUnpublishable(row, error);
      return published.length;
    });
  }

  /** Logged once per row and process (it is retried every poll), so that a stuck row is seen but does not flood the log. */
  private reportUnpublishable(row: PendingRow, error: Error): void {
    if (this.reportedUnpublishable.has(row.event_id)) return;
    if (this.reportedUnpublishable.size >= 1000) this.reportedUnpublishable.clear();
    this.reportedUnpublishable.add(row.event_id);
    this.options.logger.error(`outbox relay: event ${row.event_id} (${row.subject}, outbox seq ${row.seq}) could not be published: ${error.message}; retrying`);
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
