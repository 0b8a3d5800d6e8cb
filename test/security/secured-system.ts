import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeploymentRequestView, type Role } from '@agf/contracts';
import { loadPolicyFile, registeredExperts } from '@agf/policy';
import { createTestDatabase, eventually, ServiceProcess, type ServiceName, type TestDatabase, testIdentity, type TestIdentity, TestNats } from '@agf/testing';

export const ALL_SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];
export const CONFIG = join(__dirname, 'agf-config.security.yaml');

/**
 * The six services in one namespace and database with the security suite's policy, intake writing its
 * bootstrap admin key to a file of the test's own, and the test process's OIDC issuer for people.
 */
export class SecuredSystem {
  private constructor(
    readonly db: TestDatabase,
    readonly nats: TestNats,
    readonly services: Map<ServiceName, ServiceProcess>,
    readonly idp: TestIdentity,
    readonly adminKey: string,
    private readonly keyDir: string,
  ) {}

  static async start(names: ServiceName[] = ALL_SERVICES, env: Record<string, string> = {}): Promise<SecuredSystem> {
    const db = await createTestDatabase();
    const nats = await TestNats.connect();
    const keyDir = mkdtempSync(join(tmpdir(), 'agf-security-'));
    const keyFile = join(keyDir, 'admin.key');
    const common = { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: CONFIG, ...env } };
    const started: ServiceProcess[] = [];
    try {
      // Intake first: it creates the streams' keys and writes the admin key.
      started.push(await ServiceProcess.start('intake', { ...common, env: { ...common.env, AGF_BOOTSTRAP_KEY_FILE: keyFile } }));
      started.push(...(await Promise.all(names.filter((n) => n !== 'intake').map((name) => ServiceProcess.start(name, common)))));
    } catch (error) {
      await Promise.all(started.map((s) => s.stop()));
      await nats.cleanup();
      await db.drop();
      rmSync(keyDir, { recursive: true, force: true });
      throw error;
    }
    const adminKey = readFileSync(keyFile, 'utf8').trim();
    return new SecuredSystem(db, nats, new Map(started.map((s) => [s.name, s])), await testIdentity(), adminKey, keyDir);
  }

  url(service: ServiceName): string {
    return this.services.get(service)!.url;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    await this.nats.cleanup();
    await this.db.drop();
    rmSync(this.keyDir, { recursive: true, force: true });
  }

  /** A bearer token of the test issuer. */
  bearer(sub: string, roles: Role[], projects: string[] = []): Promise<string> {
    return this.idp.bearer({ sub, roles, projects });
  }

  /** The subject the policy binds to an expert (the person who may answer for it). */
  subjectOf(expertId: string): string {
    const expert = registeredExperts(loadPolicyFile(CONFIG)).find((e) => e.id === expertId);
    if (!expert?.principal[0]) throw new Error(`no principal is bound to ${expertId}`);
    return expert.principal[0];
  }

  async call(service: ServiceName, method: string, path: string, authorization?: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url(service)}${path}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** Submits as `authorization`; returns the new request's id. */
  async submit(authorization: string, body: Record<string, unknown>): Promise<string> {
    const response = await this.call('intake', 'POST', '/v1/deployment-requests', authorization, body);
    if (response.status !== 202) throw new Error(`submit: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  /** Issues an API key with the bootstrap admin key. */
  async issueKey(input: { name: string; subject: string; roles: Role[]; projects?: string[] }): Promise<{ id: string; key: string }> {
    const response = await this.call('intake', 'POST', '/v1/api-keys', `Bearer ${this.adminKey}`, { projects: [], ...input });
    if (response.status !== 201) throw new Error(`issue key: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string; key: string };
  }

  /** The request as an auditor sees it, once its pending human assignments are known. */
  async pendingHumans(id: string, count = 1): Promise<DeploymentRequestView['assignments']> {
    const auditor = await this.bearer('auditor-ann', ['auditor']);
    return eventually(async () => {
      const view = (await (await this.call('intake', 'GET', `/v1/deployment-requests/${id}`, auditor)).json()) as DeploymentRequestView;
      const humans = view.assignments.filter((a) => a.expertKind === 'human' && a.status === 'pending');
      expect(humans.length).toBeGreaterThanOrEqual(count);
      return humans;
    }, 30_000, 200);
  }
}

/** A tier-1 change a human must approve (CROSS_PROJECT_IMPACT), for project `projectId`. */
export function aGovernedChange(projectId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    projectId,
    componentName: 'orders',
    version: '2.0.0',
    changes: ['src/orders/schema.ts'],
    riskIndicators: { codeChanges: 60, filesChanged: 4, testsPassed: true, userImpact: 'medium', affectedProjects: ['billing-api'] },
    ...overrides,
  };
}
