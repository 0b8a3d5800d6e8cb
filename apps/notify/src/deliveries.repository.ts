import type { Notice } from '@agf/notify-domain';
import type { DataSource, EntityManager } from 'typeorm';

export type DeliveryStatus = 'pending' | 'sent' | 'dead';

export interface NewDelivery {
  id: string;
  eventId: string;
  event: string;
  channel: string;
  channelKind: string;
  recipient: string;
  address: string | null;
  action: string | null;
  requestId: string;
  projectId: string;
  severity: string;
  notice: Notice;
}

export interface DeliveryRow extends NewDelivery {
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  createdAt: Date;
  lastAttemptAt: Date | null;
  sentAt: Date | null;
  deadAt: Date | null;
  lastError: string | null;
}

export interface SubscriptionRow {
  id: string;
  projectId: string;
  url: string;
  secret: string;
  events: string[];
  createdBy: string;
  createdAt: Date;
}

const COLUMN_NAMES: Record<string, string> = {
  id: 'id', event_id: 'eventId', event: 'event', channel: 'channel', channel_kind: 'channelKind', recipient: 'recipient', address: 'address',
  action: 'action', request_id: 'requestId', project_id: 'projectId', severity: 'severity', notice: 'notice', status: 'status', attempts: 'attempts',
  next_attempt_at: 'nextAttemptAt', created_at: 'createdAt', last_attempt_at: 'lastAttemptAt', sent_at: 'sentAt', dead_at: 'deadAt', last_error: 'lastError',
};
const columns = (table = '') => Object.entries(COLUMN_NAMES).map(([column, alias]) => `${table}"${column}" AS "${alias}"`).join(', ');
const COLUMNS = columns();

const SUBSCRIPTION_COLUMNS = `"id", "project_id" AS "projectId", "url", "secret", "events", "created_by" AS "createdBy", "created_at" AS "createdAt"`;

export const deliveriesRepository = {
  /** Queues deliveries in the consumer's transaction; one that exists already (a redelivered event) is left as it is. */
  async insert(manager: EntityManager, deliveries: NewDelivery[]): Promise<number> {
    if (!deliveries.length) return 0;
    const rows: unknown[] = await manager.query(
      `INSERT INTO "notify"."deliveries" ("id", "event_id", "event", "channel", "channel_kind", "recipient", "address", "action", "request_id", "project_id", "severity", "notice")
       SELECT "id", "eventId", "event", "channel", "channelKind", "recipient", "address", "action", "requestId", "projectId", "severity", "notice"
       FROM jsonb_to_recordset($1::jsonb) AS x("id" uuid, "eventId" text, "event" text, "channel" text, "channelKind" text, "recipient" text, "address" text,
         "action" text, "requestId" uuid, "projectId" text, "severity" text, "notice" jsonb)
       ON CONFLICT ON CONSTRAINT "deliveries_once" DO NOTHING
       RETURNING "id"`,
      [JSON.stringify(deliveries)],
    );
    return rows.length;
  },

  /**
   * Claims up to `limit` due deliveries for `leaseMs`: their next attempt moves past the lease, so another
   * replica (SKIP LOCKED shares the work without waiting) or a later poll takes one again only if this process
   * died before recording the outcome.
   */
  async claimDue(dataSource: DataSource, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected count].
    const [rows]: [DeliveryRow[], number] = await dataSource.query(
      `UPDATE "notify"."deliveries" AS d SET "next_attempt_at" = now() + make_interval(secs => $2::double precision / 1000)
       FROM (SELECT "id" FROM "notify"."deliveries" WHERE "status" = 'pending' AND "next_attempt_at" <= now()
             ORDER BY "next_attempt_at" LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
       WHERE d."id" = due."id"
       RETURNING ${columns('d.')}`,
      [limit, leaseMs],
    );
    return rows;
  },

  async markSent(dataSource: DataSource, id: string): Promise<void> {
    await dataSource.query(
      `UPDATE "notify"."deliveries" SET "status" = 'sent', "attempts" = "attempts" + 1, "last_attempt_at" = now(), "sent_at" = now(), "last_error" = NULL
       WHERE "id" = $1 AND "status" = 'pending'`,
      [id],
    );
  },

  async markFailed(dataSource: DataSource, id: string, outcome: { status: 'pending'; nextAttemptAt: Date } | { status: 'dead' }, error: string): Promise<void> {
    await dataSource.query(
      `UPDATE "notify"."deliveries" SET "attempts" = "attempts" + 1, "last_attempt_at" = now(), "last_error" = $3,
         "status" = $2, "next_attempt_at" = COALESCE($4::timestamptz, "next_attempt_at"), "dead_at" = CASE WHEN $2 = 'dead' THEN now() END
       WHERE "id" = $1 AND "status" = 'pending'`,
      [id, outcome.status, error.slice(0, 1000), outcome.status === 'pending' ? outcome.nextAttemptAt.toISOString() : null],
    );
  },

  async list(dataSource: DataSource, filter: { status?: DeliveryStatus; requestId?: string; limit: number }): Promise<DeliveryRow[]> {
    return dataSource.query(
      `SELECT ${COLUMNS} FROM "notify"."deliveries"
       WHERE ($1::text IS NULL OR "status" = $1) AND ($2::uuid IS NULL OR "request_id" = $2)
       ORDER BY "created_at" DESC, "id" LIMIT $3`,
      [filter.status ?? null, filter.requestId ?? null, filter.limit],
    );
  },

  async countsByStatus(dataSource: DataSource): Promise<Record<DeliveryStatus, number>> {
    const rows: Array<{ status: DeliveryStatus; count: string }> = await dataSource.query(`SELECT "status", count(*) AS "count" FROM "notify"."deliveries" GROUP BY "status"`);
    const counts = { pending: 0, sent: 0, dead: 0 };
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  },

  /** The PagerDuty channels that paged about a request (a final decision resolves them). */
  /** The PagerDuty channels each of these requests triggered a page on. */
  async triggeredPagersOf(manager: EntityManager, requestIds: string[]): Promise<Map<string, string[]>> {
    const rows: Array<{ request_id: string; channel: string }> = await manager.query(
      `SELECT DISTINCT "request_id", "channel" FROM "notify"."deliveries" WHERE "request_id" = ANY($1::uuid[]) AND "channel_kind" = 'pagerduty' AND "action" = 'trigger'`,
      [requestIds],
    );
    const byRequest = new Map<string, string[]>();
    for (const row of rows) byRequest.set(row.request_id, [...(byRequest.get(row.request_id) ?? []), row.channel]);
    return byRequest;
  },

  /** The webhook subscriptions of these projects, in id order. */
  async subscriptionsListeningTo(manager: EntityManager, projectIds: string[]): Promise<Array<{ id: string; projectId: string; events: string[] }>> {
    return manager.query(`SELECT "id", "project_id" AS "projectId", "events" FROM "notify"."subscriptions" WHERE "project_id" = ANY($1::text[]) ORDER BY "id"`, [projectIds]);
  },

  async subscription(dataSource: DataSource, id: string): Promise<SubscriptionRow | undefined> {
    const rows: SubscriptionRow[] = await dataSource.query(`SELECT ${SUBSCRIPTION_COLUMNS} FROM "notify"."subscriptions" WHERE "id" = $1`, [id]);
    return rows[0];
  },

  async subscriptions(dataSource: DataSource, projects: 'all' | string[]): Promise<SubscriptionRow[]> {
    return dataSource.query(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM "notify"."subscriptions" WHERE $1::text[] IS NULL OR "project_id" = ANY($1) ORDER BY "created_at", "id"`,
      [projects === 'all' ? null : projects],
    );
  },

  async addSubscription(dataSource: DataSource, row: Omit<SubscriptionRow, 'createdAt'>): Promise<SubscriptionRow> {
    const rows: SubscriptionRow[] = await dataSource.query(
      `INSERT INTO "notify"."subscriptions" ("id", "project_id", "url", "secret", "events", "created_by") VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [row.id, row.projectId, row.url, row.secret, row.events, row.createdBy],
    );
    return rows[0]!;
  },

  async removeSubscription(dataSource: DataSource, id: string): Promise<void> {
    await dataSource.query(`DELETE FROM "notify"."subscriptions" WHERE "id" = $1`, [id]);
  },
};
