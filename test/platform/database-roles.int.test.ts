import { aDeploymentRequestInput } from '@agf/contracts/testing';
import { serviceRole, urlAsRole } from '@agf/platform';
import { Client } from 'pg';
import { SERVICES, TestSystem } from '../governance/system';

jest.setTimeout(180_000);

/**
 * Least privilege in Postgres, as `npm start` runs it: migrations as `agf_migrator`, each service as its own
 * role, with data rights on its own schema only, and the audit chain append-only for compliance's role.
 */
describe('per-service Postgres roles', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await TestSystem.start('agf-config.governance.yaml', { databaseRoles: true });
  });

  afterAll(async () => {
    await system?.stop();
  });

  /** A statement as a service's role; the error code when Postgres refuses it. */
  const asRole = async (service: string, sql: string): Promise<string | undefined> => {
    const client = new Client({ connectionString: urlAsRole(system.db.url, serviceRole(service)) });
    await client.connect();
    try {
      await client.query(sql);
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code;
    } finally {
      await client.end();
    }
  };

  it('decides a request with every service logged in as its own role, none a superuser', async () => {
    const id = await system.submit(aDeploymentRequestInput({ projectId: 'roles-demo', changes: ['README.md'], riskIndicators: { codeChanges: 3, testsPassed: true, userImpact: 'low', affectedProjects: [] } }));
    expect((await system.decision(id)).data.requestId).toBe(id);
    const sessions = await system.db.query<{ application_name: string; usename: string; rolsuper: boolean }>(
      `SELECT a.application_name, a.usename, r.rolsuper FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
        WHERE a.datname = current_database() AND a.application_name LIKE 'agf-%' AND a.application_name NOT LIKE '%-migrations'`,
    );
    const services = new Set(sessions.map((s) => s.application_name.replace(/^agf-/, '')));
    for (const service of SERVICES) expect(services).toContain(service);
    for (const session of sessions) {
      expect(session).toMatchObject({ usename: serviceRole(session.application_name.replace(/^agf-/, '')), rolsuper: false });
    }
    const owners = await system.db.query<{ owner: string }>(`SELECT DISTINCT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = ANY($1)`, [SERVICES]);
    expect(owners).toEqual([{ owner: 'agf_migrator' }]);
  });

  it('refuses a service its neighbours\' schemas, DDL, and changes to the audit chain', async () => {
    expect(await asRole('intake', 'SELECT 1 FROM coe.requests LIMIT 1')).toBe('42501');
    expect(await asRole('risk', 'SELECT 1 FROM compliance.audit_entries LIMIT 1')).toBe('42501');
    expect(await asRole('intake', 'CREATE TABLE intake.smuggled (id int)')).toBe('42501');
    expect(await asRole('compliance', 'SELECT 1 FROM compliance.audit_entries LIMIT 1')).toBeUndefined();
    expect(await asRole('compliance', `UPDATE compliance.audit_entries SET payload = '{}' WHERE sequence = 1`)).toBe('42501');
    expect(await asRole('compliance', 'DELETE FROM compliance.audit_entries')).toBe('42501');
    expect(await asRole('compliance', 'TRUNCATE compliance.audit_entries')).toBe('42501');
    expect(await asRole('compliance', 'UPDATE compliance.chain_head SET sequence = sequence')).toBeUndefined();
  });
});
