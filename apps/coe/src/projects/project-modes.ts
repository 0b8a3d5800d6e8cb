import type { Actor, ProjectGateMode, ProjectModeView } from '@agf/contracts';
import { type GovernancePolicy, projectMode } from '@agf/policy';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

export interface StoredProjectMode {
  mode: ProjectGateMode;
  changed_by: Actor;
  changed_at: Date;
}

/**
 * A project's gate mode: an admin's choice through the API, else its `mode` in agf-config.yaml, else enforce.
 * Read in the decision's own transaction, so every replica marks a decision the same way.
 */
export async function effectiveProjectMode(db: Queryable, policy: GovernancePolicy, projectId: string): Promise<ProjectModeView> {
  const [stored] = (await db.query(`SELECT "mode", "changed_by", "changed_at" FROM "coe"."project_modes" WHERE "project_id" = $1`, [projectId])) as StoredProjectMode[];
  return projectModeView(policy, projectId, stored);
}

/** A stored mode as a SQL expression returning its row as JSON (or null), for a statement that has the project id in `projectIdSql`. */
export function storedProjectModeSql(projectIdSql: string): string {
  return `(SELECT json_build_object('mode', m."mode", 'changed_by', m."changed_by", 'changed_at', m."changed_at") FROM "coe"."project_modes" m WHERE m."project_id" = ${projectIdSql})`;
}

export function projectModeView(policy: GovernancePolicy, projectId: string, stored: StoredProjectMode | null | undefined): ProjectModeView {
  if (stored) return { projectId, mode: stored.mode, source: 'api', changedAt: new Date(stored.changed_at).toISOString(), changedBy: stored.changed_by };
  return { projectId, mode: projectMode(policy.projects, projectId), source: 'config', changedAt: null, changedBy: null };
}

/** Sets the mode; the row is locked first, so two admins' changes are applied (and announced) one after the other. */
export async function storeProjectMode(db: Queryable, projectId: string, mode: ProjectGateMode, actor: Actor, changedAt: string): Promise<void> {
  await db.query(
    `INSERT INTO "coe"."project_modes" ("project_id", "mode", "changed_by", "changed_at") VALUES ($1, $2, $3, $4)
     ON CONFLICT ("project_id") DO UPDATE SET "mode" = EXCLUDED."mode", "changed_by" = EXCLUDED."changed_by", "changed_at" = EXCLUDED."changed_at"`,
    [projectId, mode, JSON.stringify(actor), changedAt],
  );
}

export async function lockProjectMode(db: Queryable, projectId: string): Promise<void> {
  // An advisory lock: the row may not exist yet.
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('coe.project_modes:' || $1))`, [projectId]);
}
