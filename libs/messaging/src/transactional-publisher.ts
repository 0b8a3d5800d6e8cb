import type { CloudEvent, EventName } from '@agf/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type { Namespace } from './namespace';
import { insertOutboxRows, outboxArrays, outboxInsertFromArrays, type OutboxRow, type OutgoingEvent, toOutboxRow } from './outbox';
import type { OutboxRelay } from './outbox-relay';

export interface Transaction {
  manager: EntityManager;
  /** Adds an event that commits (or rolls back) with this transaction's writes. */
  emit<N extends EventName>(event: OutgoingEvent<N>): CloudEvent<N>;
}

/** For work that does not start from a message (HTTP commands, timers): state and events commit together. */
export class TransactionalPublisher {
  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    private readonly source: string,
    private readonly namespace: Namespace,
    private readonly relay: OutboxRelay,
  ) {}

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const rows: OutboxRow[] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      rows.length = 0;
      const value = await work({
        manager,
        emit: (event) => {
          const { row, envelope } = toOutboxRow(this.source, this.namespace, event);
          rows.push(row);
          return envelope;
        },
      });
      await insertOutboxRows(manager, this.schema, rows);
      return value;
    });
    this.relay.publishCommitted(rows);
    return result;
  }

  /**
   * A write that is one data-modifying statement (an `INSERT` without `RETURNING`, say), committed together with
   * its events in that one statement: the outbox insert is folded in as a CTE, so no transaction block is
   * needed and the write costs one round trip instead of four (begin, state, outbox, commit).
   */
  async writeWithEvents(statement: string, params: unknown[], events: OutgoingEvent[]): Promise<Array<CloudEvent<EventName>>> {
    const built = events.map((event) => toOutboxRow(this.source, this.namespace, event));
    const rows = built.map((b) => b.row);
    await this.dataSource.query(
      `WITH "state" AS (${statement}), "written" AS (${outboxInsertFromArrays(this.schema, params.length + 1)}) SELECT 1 AS "done"`,
      [...params, ...outboxArrays(rows)],
    );
    this.relay.publishCommitted(rows);
    return built.map((b) => b.envelope);
  }
}
