import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

/** The channel the subscriptions table's trigger announces every change on (migration 1732900000601). */
export const SUBSCRIPTIONS_CHANGED_CHANNEL = 'agf_notify_subscriptions';
const RECONNECT_MS = 1_000;
/** A connection that died without a word (no reset reached us) stops announcing: its view is read again anyway. */
const REREAD_MS = 30_000;

/**
 * The projects that have a webhook subscription, as this process last read them: most events (every tier-0
 * decision) belong to a project without one and route nowhere, and are then passed over without a
 * transaction. One connection LISTENs for the table's changes, by any replica or writer, and reads the
 * projects again after each; while it is not listening (starting, or its connection lost) every project
 * counts as subscribed, so the handler asks the table as before. A change reaches this view moments after its
 * commit, as an event handled in the same moments would have read the table before that commit.
 */
@Injectable()
export class SubscribedProjects implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('notify');
  /** Undefined while not listening: nothing is known. */
  private projects: ReadonlySet<string> | undefined;
  private client: Client | undefined;
  private stopped = false;
  /** A change announced while a read was under way: read again after it. */
  private reading: Promise<void> | undefined;
  private readAgain = false;
  /** Stored by this process since the current read began, which may not have seen them. */
  private readonly addedDuringRead = new Set<string>();
  private rereadTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.rereadTimer);
    this.projects = undefined;
    await this.client?.end().catch(() => undefined);
  }

  /** False only when this process knows the project has no subscription. */
  mayHaveSubscriptions(projectId: string): boolean {
    return this.projects?.has(projectId) ?? true;
  }

  /** A subscription this process just stored: known at once, before the table's announcement comes back. */
  add(projectId: string): void {
    this.addedDuringRead.add(projectId);
    if (this.projects && !this.projects.has(projectId)) this.projects = new Set([...this.projects, projectId]);
  }

  private async listen(): Promise<void> {
    const { url, applicationName } = this.dataSource.options as { url?: string; applicationName?: string };
    // Named as the service's pool is: its role, its share of Postgres' time. A read that gets no answer (a peer
    // gone without a reset) times out, and the connection is started over.
    const client = new Client({ connectionString: url, application_name: applicationName ?? 'agf-notify', keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: 10_000 });
    this.client = client;
    const lost = (reason: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.projects = undefined;
      clearInterval(this.rereadTimer);
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(`subscriptions listener lost (${reason}); every event asks the table until it is back`);
      setTimeout(() => void this.listen(), RECONNECT_MS).unref();
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', () => void this.read(client));
    try {
      await client.connect();
      // Listening first, then reading: a change committed after the read is announced, none is missed.
      await client.query(`LISTEN ${SUBSCRIPTIONS_CHANGED_CHANNEL}`);
      await this.read(client);
      if (this.client === client) this.rereadTimer = setInterval(() => void this.read(client), REREAD_MS).unref();
    } catch (error) {
      lost((error as Error).message);
    }
  }

  private async read(client: Client): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        this.addedDuringRead.clear();
        const rows = (await client.query<{ project_id: string }>(`SELECT DISTINCT "project_id" FROM "notify"."subscriptions"`)).rows;
        if (this.client === client) this.projects = new Set([...rows.map((row) => row.project_id), ...this.addedDuringRead]);
      } while (this.readAgain && this.client === client);
    })()
      // Listening on without a view would leave every event asking the table: start over instead.
      .catch((error: Error) => {
        client.emit('error', error);
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
