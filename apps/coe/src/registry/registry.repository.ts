import type { ExpertRecord } from '@agf/contracts';
import type { EntityManager } from 'typeorm';

/** An expert's definition: what agf-config.yaml or a `PUT /v1/experts/{id}` says (no availability, no load). */
export type ExpertDefinition = Omit<ExpertRecord, 'id' | 'available' | 'away'>;

export type RegistrySource = 'config' | 'api';

/** A row of `coe.experts` as the registry API shows it. */
export interface RegistryEntry extends ExpertRecord {
  active: boolean;
  openReviews: number;
  source: RegistrySource;
  updatedAt: string;
}

const COLUMNS = `"id", "expert_type", "kind", "level", "runtime", "specialties", "capacity", "open_reviews", "active", "name", "principal", "email", "phone",
  "available", "away_from", "away_until", "source", "config_hash", "updated_at"`;

/** The definition columns in the order of `definitionValues`, from `$2` on. */
const DEFINITION_COLUMNS = ['expert_type', 'kind', 'level', 'runtime', 'specialties', 'capacity', 'name', 'principal', 'email', 'phone'] as const;

function definitionValues(d: ExpertDefinition): unknown[] {
  return [d.expertType, d.kind, d.level, d.runtime, JSON.stringify(d.specialties), d.capacity, d.name ?? null, JSON.stringify(d.principal), d.email ?? null, d.phone ?? null];
}

const SET_DEFINITION = DEFINITION_COLUMNS.map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ');
const DEFINITION_DIFFERS = `(${DEFINITION_COLUMNS.map((c) => `"coe"."experts"."${c}"`).join(', ')}) IS DISTINCT FROM (${DEFINITION_COLUMNS.map((c) => `EXCLUDED."${c}"`).join(', ')})`;

export interface StoredExpert extends RegistryEntry {
  configHash: string | null;
}

function toEntry(r: Record<string, unknown>): StoredExpert {
  const name = r['name'] as string | null;
  const email = r['email'] as string | null;
  const phone = r['phone'] as string | null;
  const awayFrom = r['away_from'] as Date | null;
  const awayUntil = r['away_until'] as Date | null;
  return {
    id: r['id'] as string,
    expertType: r['expert_type'] as ExpertRecord['expertType'],
    kind: r['kind'] as ExpertRecord['kind'],
    ...(name !== null ? { name } : {}),
    specialties: r['specialties'] as string[],
    capacity: r['capacity'] as number,
    level: r['level'] as ExpertRecord['level'],
    runtime: r['runtime'] as ExpertRecord['runtime'],
    principal: r['principal'] as string[],
    ...(email !== null ? { email } : {}),
    ...(phone !== null ? { phone } : {}),
    available: r['available'] as boolean,
    away: awayFrom && awayUntil ? { from: awayFrom.toISOString(), until: awayUntil.toISOString() } : null,
    active: r['active'] as boolean,
    openReviews: r['open_reviews'] as number,
    source: r['source'] as RegistrySource,
    updatedAt: (r['updated_at'] as Date).toISOString(),
    configHash: (r['config_hash'] as string | null) ?? null,
  };
}

/** The record the registry's events carry: the contract's fields only. */
export function recordOf(entry: RegistryEntry): ExpertRecord {
  return {
    id: entry.id,
    expertType: entry.expertType,
    kind: entry.kind,
    ...(entry.name !== undefined ? { name: entry.name } : {}),
    specialties: entry.specialties,
    capacity: entry.capacity,
    level: entry.level,
    runtime: entry.runtime,
    principal: entry.principal,
    ...(entry.email !== undefined ? { email: entry.email } : {}),
    ...(entry.phone !== undefined ? { phone: entry.phone } : {}),
    available: entry.available,
    away: entry.away,
  };
}

/** What the API answers: the record with its state and load, without the seeding bookkeeping. */
export function viewOf(entry: StoredExpert): RegistryEntry {
  const { configHash: _hash, ...view } = entry;
  return view;
}

/** SQL of the registry; every function runs in the caller's transaction (or on the DataSource). */
export const registryRepository = {
  async all(m: Pick<EntityManager, 'query'>): Promise<StoredExpert[]> {
    const rows: Record<string, unknown>[] = await m.query(`SELECT ${COLUMNS} FROM "coe"."experts" ORDER BY "expert_type", "id"`);
    return rows.map(toEntry);
  },

  async find(m: Pick<EntityManager, 'query'>, id: string): Promise<StoredExpert | undefined> {
    const rows: Record<string, unknown>[] = await m.query(`SELECT ${COLUMNS} FROM "coe"."experts" WHERE "id" = $1`, [id]);
    return rows[0] && toEntry(rows[0]);
  },

  /**
   * Seeds one expert of agf-config.yaml: inserted, or updated when its config entry changed since it was last
   * seeded (`configHash`), or when it was removed from the config and is back. A change made through the API
   * stands while the config entry stays as it was. Returns the row only when it changed: replicas starting at
   * once (the row lock serialises them, and the guard is evaluated again on the row as committed) get it once.
   */
  async seed(m: EntityManager, id: string, d: ExpertDefinition, configHash: string): Promise<StoredExpert | undefined> {
    const rows: Record<string, unknown>[] = await m.query(
      `INSERT INTO "coe"."experts" ("id", ${DEFINITION_COLUMNS.map((c) => `"${c}"`).join(', ')}, "active", "source", "config_hash", "updated_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, 'config', $12, now())
       ON CONFLICT ("id") DO UPDATE SET ${SET_DEFINITION}, "active" = true, "source" = 'config', "config_hash" = EXCLUDED."config_hash", "updated_at" = now()
       WHERE "coe"."experts"."config_hash" IS DISTINCT FROM EXCLUDED."config_hash" OR ("coe"."experts"."source" = 'config' AND NOT "coe"."experts"."active")
       RETURNING ${COLUMNS}`,
      [id, ...definitionValues(d), configHash],
    );
    return rows[0] && toEntry(rows[0]);
  },

  /** Deactivates an expert seeded from a config entry that is gone; undefined when another replica did it first. */
  async unseed(m: EntityManager, id: string): Promise<StoredExpert | undefined> {
    const [rows] = (await m.query(
      `UPDATE "coe"."experts" SET "active" = false, "updated_at" = now() WHERE "id" = $1 AND "active" AND "source" = 'config' RETURNING ${COLUMNS}`,
      [id],
    )) as [Record<string, unknown>[], number];
    return rows[0] && toEntry(rows[0]);
  },

  /** `PUT /v1/experts/{id}`: inserted or updated (and active again); undefined when nothing changed. */
  async put(m: EntityManager, id: string, d: ExpertDefinition): Promise<{ entry: StoredExpert; created: boolean } | undefined> {
    const rows: Record<string, unknown>[] = await m.query(
      `INSERT INTO "coe"."experts" ("id", ${DEFINITION_COLUMNS.map((c) => `"${c}"`).join(', ')}, "active", "source", "updated_at")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, 'api', now())
       ON CONFLICT ("id") DO UPDATE SET ${SET_DEFINITION}, "active" = true, "source" = 'api', "updated_at" = now()
       WHERE ${DEFINITION_DIFFERS} OR NOT "coe"."experts"."active"
       RETURNING ${COLUMNS}, (xmax = 0) AS "created"`,
      [id, ...definitionValues(d)],
    );
    const row = rows[0];
    return row && { entry: toEntry(row), created: row['created'] as boolean };
  },

  /** `DELETE /v1/experts/{id}`: deactivated (its open assignments still resolve); undefined when it was not active. */
  async deactivate(m: EntityManager, id: string): Promise<StoredExpert | undefined> {
    const [rows] = (await m.query(
      `UPDATE "coe"."experts" SET "active" = false, "source" = 'api', "updated_at" = now() WHERE "id" = $1 AND "active" RETURNING ${COLUMNS}`,
      [id],
    )) as [Record<string, unknown>[], number];
    return rows[0] && toEntry(rows[0]);
  },

  /** Availability and away period; undefined when they were already so. */
  async setAvailability(m: EntityManager, id: string, available: boolean, away: { from: string; until: string } | null): Promise<StoredExpert | undefined> {
    const [rows] = (await m.query(
      `UPDATE "coe"."experts" SET "available" = $2, "away_from" = $3, "away_until" = $4, "updated_at" = now()
       WHERE "id" = $1 AND ("available", "away_from", "away_until") IS DISTINCT FROM ($2::boolean, $3::timestamptz, $4::timestamptz) RETURNING ${COLUMNS}`,
      [id, available, away?.from ?? null, away?.until ?? null],
    )) as [Record<string, unknown>[], number];
    return rows[0] && toEntry(rows[0]);
  },
};
