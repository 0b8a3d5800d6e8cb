import { Client } from 'pg';

/**
 * Least privilege in Postgres. Migrations run as the migration role, which owns every service schema; each
 * service runs as its own login role with data rights on its own schema only (no DDL, no other schema, no
 * superuser), and no UPDATE, DELETE or TRUNCATE on its append-only tables (the audit chain).
 */
export const MIGRATION_ROLE = 'agf_migrator';

export function serviceRole(service: string): string {
  return `agf_${service}`;
}

/** The URL with another user (and no password: local trust or a `.pgpass`; production gives each role its own URL). */
export function urlAsRole(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = '';
  return parsed.toString();
}

export function roleOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'postgres';
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function identifier(name: string): string {
  if (!ROLE_NAME.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return `"${name}"`;
}

/**
 * Creates the migration role and one login role per service (none a superuser, none able to create roles or
 * databases), lets them connect to the database, and hands the migration role the database's CREATE right and
 * every existing service schema (a database first run by a superuser). Run once with an administrator's URL;
 * safe to run again and from several processes at once.
 */
export async function provisionDatabaseRoles(adminUrl: string, services: readonly string[]): Promise<void> {
  const client = new Client({ connectionString: adminUrl, application_name: 'agf-provision' });
  await client.connect();
  try {
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    // Roles are shared by the whole Postgres cluster: serialise against other provisioning runs.
    await client.query(`SELECT pg_advisory_lock(hashtext('agf-provision-roles'))`);
    try {
      for (const role of [MIGRATION_ROLE, ...services.map(serviceRole)]) {
        const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount;
        if (!exists) await client.query(`CREATE ROLE ${identifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`);
        await client.query(`GRANT CONNECT ON DATABASE "${database}" TO ${identifier(role)}`);
      }
      await client.query(`GRANT CREATE ON DATABASE "${database}" TO ${identifier(MIGRATION_ROLE)}`);
      for (const schema of services) await handSchemaToMigrator(client, schema);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('agf-provision-roles'))`);
    }
  } finally {
    await client.end();
  }
}

async function handSchemaToMigrator(client: Client, schema: string): Promise<void> {
  const owner = (await client.query<{ owner: string }>(`SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1`, [schema])).rows[0]?.owner;
  if (!owner || owner === MIGRATION_ROLE) return;
  await client.query(`ALTER SCHEMA ${identifier(schema)} OWNER TO ${identifier(MIGRATION_ROLE)}`);
  const owned = await client.query<{ kind: string; name: string }>(
    `SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S', 'v') AND NOT c.relispartition
        -- A serial or identity column's sequence follows its table.
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))`,
    [schema],
  );
  for (const { kind, name } of owned.rows) await client.query(`ALTER ${kind} "${schema}"."${name}" OWNER TO ${identifier(MIGRATION_ROLE)}`);
  const functions = await client.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    [schema],
  );
  for (const { signature } of functions.rows) await client.query(`ALTER FUNCTION ${signature} OWNER TO ${identifier(MIGRATION_ROLE)}`);
}

/**
 * After the migrations, run as the schema's owner: the service's role may read and write its own tables and
 * use their sequences; its append-only tables it may only read and append to.
 */
export async function grantServiceRole(db: { query(text: string): Promise<unknown> }, schema: string, role: string, appendOnlyTables: readonly string[] = []): Promise<void> {
  const s = identifier(schema);
  const r = identifier(role);
  await db.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
  await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
  await db.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
  for (const table of appendOnlyTables) await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${s}.${identifier(table)} FROM ${r}`);
}
