import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DATA_CLASSIFICATION, EXPIRED, expirePersonalFields, PRUNED_TABLES, type PrunedTable, RETENTION_AGE_COLUMN, uuidV7Floor } from '@agf/compliance-domain';
import type { RetentionApplied } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import type { GovernancePolicy, RetentionPolicy } from '@agf/policy';
import type { EntityManager } from 'typeorm';
import type { InfraConfig } from './infra-config';
import { INFRA_CONFIG, POLICY } from './tokens';

const DAY_MS = 86_400_000;
/** Rows read per statement: a run over a large backlog goes in bounded steps. */
const BATCH = 500;
/** Rows one delete removes, and the deletes one run makes per table: a backlog (the first run on years of history) is worked off over several runs, each a bounded transaction. */
const DELETE_BATCH = 5_000;
const DELETES_PER_RUN = 20;

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

/** One bounded delete of a table's due rows, counting them; its parameters are the cut-off's UUIDv7 floor and the cut-off. */
export function pruneStatement(schema: string, t: PrunedTable, cutoff: Date): { sql: string; params: string[] } {
  const params: string[] = [];
  const param = (value: string) => `$${params.push(value)}`;
  const conditions: string[] = [];
  if (t.walk !== 'date') {
    conditions.push(`"row"."${t.walk.id}" < ${param(uuidV7Floor(cutoff))}${t.walk.type === 'uuid' ? '::uuid' : ''}`);
    // Without a date the id is the date, and only a UUIDv7 says when it was made.
    if (!t.dateColumn) conditions.push(`substr("row"."${t.walk.id}"::text, 15, 1) = '7'`);
  }
  if (t.dateColumn) conditions.push(`"row"."${t.dateColumn}" < ${param(cutoff.toISOString())}::timestamptz`);
  if (t.onlyIf) conditions.push(`(${t.onlyIf})`);
  const table = `"${schema}"."${t.table}"`;
  const sql = `WITH "gone" AS (
      DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT "row".ctid FROM ${table} "row" WHERE ${conditions.join(' AND ')} LIMIT ${DELETE_BATCH}))
      RETURNING 1)
    SELECT count(*)::int AS "n" FROM "gone"`;
  return { sql, params };
}

/**
 * Deletes this service's activity rows whose period has passed (`PRUNED_TABLES`): `operational_days` after
 * their date, attestations `audit_evidence_days`. Returns rows deleted per table and each period's cut-off.
 */
export async function pruneExpiredRows(
  m: { query(sql: string, params: unknown[]): Promise<unknown> },
  schema: string,
  retention: Pick<RetentionPolicy, 'operational_days' | 'audit_evidence_days'>,
  now: Date,
): Promise<{ removed: Record<string, number>; cutoffs: Record<string, string> }> {
  const cutoffs = {
    operational: new Date(now.getTime() - retention.operational_days * DAY_MS),
    audit_evidence: new Date(now.getTime() - retention.audit_evidence_days * DAY_MS),
  };
  const removed: Record<string, number> = {};
  for (const table of PRUNED_TABLES[schema] ?? []) {
    const { sql, params } = pruneStatement(schema, table, cutoffs[table.period]);
    let deleted = 0;
    for (let i = 0; i < DELETES_PER_RUN; i += 1) {
      const [row] = (await m.query(sql, params)) as Array<{ n: number }>;
      deleted += row?.n ?? 0;
      if ((row?.n ?? 0) < DELETE_BATCH) break;
    }
    if (deleted) removed[`${schema}.${table.table} (rows)`] = deleted;
  }
  return { removed, cutoffs: { operational: cutoffs.operational.toISOString(), audit_evidence: cutoffs.audit_evidence.toISOString() } };
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
    // Rows first: what is deleted need not be expired.
    const rows = await pruneExpiredRows(m, this.infra.schema, retention, now);
    const { removed, cutoff } = await applyRetention(m, this.infra.schema, retention.personal_days, now);
    const applied: RetentionApplied = { service: this.infra.service, removed: { ...rows.removed, ...removed }, cutoffs: { personal: cutoff, ...rows.cutoffs }, appliedAt: now.toISOString() };
    emit({ name: 'privacy.retention.applied', correlationId: `retention-${this.infra.service}-${now.toISOString()}`, data: applied });
    return applied;
  }
}
