import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DATA_CLASSIFICATION, EXPIRED, expirePersonalFields, RETENTION_AGE_COLUMN } from '@agf/compliance-domain';
import type { RetentionApplied } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import type { GovernancePolicy } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import type { InfraConfig } from './infra-config';
import { INFRA_CONFIG, POLICY } from './tokens';

const DAY_MS = 86_400_000;
/** Rows read per statement: a run over a large backlog goes in bounded steps. */
const BATCH = 500;

type Queryable = Pick<EntityManager, 'query'>;

/** A personal column's value past retention, with its type kept. */
function expireColumn(value: unknown, type: string): unknown {
  if (value === null) return null;
  if (type === 'ARRAY') return (value as unknown[]).map(() => EXPIRED);
  if (type === 'jsonb' || type === 'json') return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.map(() => EXPIRED) : expirePersonalFields(value);
  return EXPIRED;
}

/**
 * Expires the personal fields of this service's activity tables (`RETENTION_AGE_COLUMN`) older than
 * `retention.personal_days`: each person named and each free text becomes `[expired]`, the rows' shape and
 * everything else stay. Returns rows changed per table.
 */
export async function applyRetention(m: Queryable, schema: string, personalDays: number, now: Date): Promise<{ removed: Record<string, number>; cutoff: string }> {
  const cutoff = new Date(now.getTime() - personalDays * DAY_MS).toISOString();
  const removed: Record<string, number> = {};
  const columns: Array<{ table: string; column: string; type: string }> = await m.query(
    `SELECT "table_name" AS "table", "column_name" AS "column", "data_type" AS "type" FROM "information_schema"."columns" WHERE "table_schema" = $1`,
    [schema],
  );
  const typeOf = new Map(columns.map((c) => [`${c.table}.${c.column}`, c.type]));
  for (const [qualified, ageColumn] of Object.entries(RETENTION_AGE_COLUMN)) {
    const [tableSchema, table] = qualified.split('.') as [string, string];
    if (tableSchema !== schema || !typeOf.has(`${table}.${ageColumn}`)) continue;
    const personal = DATA_CLASSIFICATION.filter((f) => f.schema === schema && f.table === table && f.dataClass === 'personal' && typeOf.has(`${table}.${f.column}`));
    if (!personal.length) continue;
    const select = personal.map((f) => `"${f.column}"`).join(', ');
    let changed = 0;
    let after = '(0,0)';
    for (;;) {
      const rows: Array<Record<string, unknown> & { row_id: string }> = await m.query(
        `SELECT ctid::text AS "row_id", ${select} FROM "${schema}"."${table}" WHERE "${ageColumn}" < $1 AND ctid > $2::tid ORDER BY ctid LIMIT ${BATCH}`,
        [cutoff, after],
      );
      for (const row of rows) {
        const updates = personal.flatMap((f) => {
          const type = typeOf.get(`${table}.${f.column}`)!;
          const expired = expireColumn(row[f.column], type);
          return JSON.stringify(expired) === JSON.stringify(row[f.column]) ? [] : [{ column: f.column, type, value: expired }];
        });
        if (!updates.length) continue;
        const sets = updates.map((u, i) => `"${u.column}" = $${i + 2}${u.type === 'jsonb' || u.type === 'json' ? `::${u.type}` : u.type === 'ARRAY' ? '::text[]' : ''}`).join(', ');
        await m.query(`UPDATE "${schema}"."${table}" SET ${sets} WHERE ctid = $1::tid`, [row.row_id, ...updates.map((u) => (u.type === 'jsonb' || u.type === 'json' ? JSON.stringify(u.value) : u.value))]);
        changed += 1;
      }
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1]!.row_id;
    }
    if (changed) removed[`${schema}.${table} (personal)`] = changed;
  }
  return { removed, cutoff };
}

/** Every service applies `retention:` to its own schema on its schedule, and reports each run (`privacy.retention.applied`). */
@Injectable()
export class PrivacyRetentionJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly publisher: TransactionalPublisher,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    @Inject(INFRA_CONFIG) private readonly infra: InfraConfig,
  ) {}

  onApplicationBootstrap(): void {
    const retention = this.policy.retention;
    if (!retention) return;
    this.timer = setInterval(
      () => void this.publisher.transaction((tx) => this.runIn(tx.manager, (event) => tx.emit(event))).catch((error: Error) => this.logger.warn(`retention run failed (${error.message}); next run on schedule`)),
      retention.run_every_minutes * 60_000,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One run in the caller's transaction; undefined when no retention is configured. */
  async runIn(m: Queryable, emit: (event: { name: 'privacy.retention.applied'; correlationId: string; data: RetentionApplied }) => unknown, now = new Date()): Promise<RetentionApplied | undefined> {
    const retention = this.policy.retention;
    if (!retention) return undefined;
    const { removed, cutoff } = await applyRetention(m, this.infra.schema, retention.personal_days, now);
    const applied: RetentionApplied = { service: this.infra.service, removed, cutoffs: { personal: cutoff }, appliedAt: now.toISOString() };
    emit({ name: 'privacy.retention.applied', correlationId: `retention-${this.infra.service}-${now.toISOString()}`, data: applied });
    return applied;
  }
}
