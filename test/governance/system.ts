import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CloudEvent, DecisionMade, type DeploymentRequestInput, DeploymentRequestView, SubmissionAccepted } from '@agf/contracts';
import type { Namespace } from '@agf/messaging';
import { inboxPrefixOf, MIGRATION_ROLE, provisionDatabaseRoles, serviceRole, urlAsRole } from '@agf/platform';
import { createTestDatabase, eventually, ServiceProcess, type ServiceName, TestNats, type TestDatabase, type TestIdentity, testIdentity } from '@agf/testing';

export const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];

/** The subject the test fixtures bind to an expert (`principal:` in test/fixtures/*.yaml): the expert's id. */
export const reviewerOf = (expertId: string): string => expertId;

export interface AuditEntry {
  eventId: string;
  eventType: string;
  payload: { id: string; type: string; source: string; data: Record<string, unknown> & { actor?: { subject: string; channel: string } } };
}

/** The whole system in one test namespace and database, every service its own process. */
export class TestSystem {
  private constructor(
    readonly db: TestDatabase,
    readonly nats: TestNats,
    readonly services: Map<ServiceName, ServiceProcess>,
    readonly identity: TestIdentity,
  ) {}

  /** `extra`: more services than the core ones (e.g. integrations), and settings for those only. */
  /** `databaseRoles`: each service runs as its own Postgres role, migrations as the migration role (as `npm start` does). */
  /**
   * `bus`: a nats-server of the test's own with authorization (test/security/bus-permissions.int.test.ts): each
   * service connects as its own nkey user (`<seedDir>/<service>.nk`) and finds its streams and consumers provisioned.
   */
  static async start(
    configFile: string,
    extra: { services?: ServiceName[]; env?: Record<string, string>; databaseRoles?: boolean; databaseServer?: string; bus?: { url: string; seedDir: string; namespace: Namespace; tlsCaFile?: string } } = {},
  ): Promise<TestSystem> {
    const identity = await testIdentity();
    const db = await createTestDatabase(extra.databaseServer);
    const bus = extra.bus;
    const nats = bus
      ? await TestNats.connect(bus.namespace, { url: bus.url, nkeySeed: new TextEncoder().encode(readFileSync(join(bus.seedDir, 'provisioner.nk'), 'utf8').trim()), inboxPrefix: inboxPrefixOf('provisioner'), tlsCaFile: bus.tlsCaFile })
      : await TestNats.connect();
    const env: Record<string, string> = { AGF_CONFIG: join(__dirname, '..', 'fixtures', configFile), ...(bus ? { NATS_URL: bus.url, AGF_BUS_PROVISIONING: 'external', ...(bus.tlsCaFile ? { NATS_TLS_CA_FILE: bus.tlsCaFile } : {}) } : {}) };
    if (extra.databaseRoles) await provisionDatabaseRoles(db.url, [...SERVICES, ...(extra.services ?? [])]);
    const databaseOf = (name: ServiceName) => {
      const own = { ...env, ...(bus ? { NATS_NKEY_SEED_FILE: join(bus.seedDir, `${name}.nk`) } : {}) };
      return extra.databaseRoles
        ? { databaseUrl: urlAsRole(db.url, serviceRole(name)), env: { ...own, AGF_DATABASE_MIGRATION_URL: urlAsRole(db.url, MIGRATION_ROLE) } }
        : { databaseUrl: db.url, env: own };
    };
    const attempts: PromiseSettledResult<ServiceProcess>[] = await Promise.allSettled(SERVICES.map((name) => ServiceProcess.start(name, { ...databaseOf(name), namespace: nats.namespace.prefix })));
    // The extra services start once the core ones are up, so that a loaded machine is not asked for all at once.
    const coreStarted = !attempts.some((a) => a.status === 'rejected');
    if (coreStarted) {
      attempts.push(
        ...(await Promise.allSettled(
          (extra.services ?? []).map((name) => {
            const database = databaseOf(name);
            return ServiceProcess.start(name, { databaseUrl: database.databaseUrl, namespace: nats.namespace.prefix, env: { ...database.env, ...extra.env } });
          }),
        )),
      );
    }
    const started = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed) {
      // Leave nothing running: a service left behind keeps the test worker (and CI) alive forever.
      await Promise.all(started.map((s) => s.stop()));
      await nats.cleanup();
      await db.drop();
      throw failed.reason;
    }
    return new TestSystem(db, nats, new Map(started.map((s) => [s.name, s])), identity);
  }

  get intake(): string {
    return this.services.get('intake')!.url;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    await this.nats.cleanup();
    await this.db.drop();
  }

  /** Headers of an auditor, who reads everything and changes nothing. */
  auditor(): Promise<Record<string, string>> {
    return this.identity.headers({ sub: 'auditor-ann', roles: ['auditor'] });
  }

  /** Headers of a submitter of the project (the requester is who the token says). */
  submitter(projectId: string, sub = 'ci-bot'): Promise<Record<string, string>> {
    return this.identity.headers({ sub, roles: ['submitter'], projects: [projectId] });
  }

  /** Headers of a reviewer: by default, the one the fixtures bind to the expert. */
  reviewer(expertId: string, sub = reviewerOf(expertId)): Promise<Record<string, string>> {
    return this.identity.headers({ sub, roles: ['reviewer'] });
  }

  /** Submits as the request's requester, a submitter of its project. */
  async submit(input: DeploymentRequestInput): Promise<string> {
    const response = await fetch(`${this.intake}/v1/deployment-requests`, {
      method: 'POST',
      headers: await this.submitter(input.projectId, input.requester ?? 'ci-bot'),
      body: JSON.stringify(input),
    });
    if (response.status !== 202) throw new Error(`submit: ${response.status} ${await response.text()}`);
    return SubmissionAccepted.parse(await response.json()).id;
  }

  /** The request's view over HTTP (as an auditor), checked against the schema intake's OpenAPI document gives for it. */
  async view(id: string): Promise<DeploymentRequestView> {
    return DeploymentRequestView.parse(await (await fetch(`${this.intake}/v1/deployment-requests/${id}`, { headers: await this.auditor() })).json());
  }

  /** The decision as CI long-polls for it, checked against its documented schema (no field left out of it). */
  async decisionOverHttp(id: string): Promise<{ status: number; decision?: DecisionMade }> {
    const response = await fetch(`${this.intake}/v1/deployment-requests/${id}/decision?waitSeconds=20`, { headers: await this.auditor() });
    const body: unknown = await response.json();
    return response.status === 200 ? { status: 200, decision: DecisionMade.strict().parse(body) } : { status: response.status };
  }

  async decisionsOf(id: string): Promise<CloudEvent<'decision.made'>[]> {
    const all = await this.nats.read('AGF_DECISION', 'agf.v1.decision.made.>');
    return all.map((m) => m.json<CloudEvent<'decision.made'>>()).filter((e) => e.data.requestId === id);
  }

  /** Waits for the one decision of a request, and checks there is exactly one. */
  async decision(id: string, timeoutMs = 30_000): Promise<CloudEvent<'decision.made'>> {
    return eventually(async () => {
      const decisions = await this.decisionsOf(id);
      expect(decisions).toHaveLength(1);
      return decisions[0]!;
    }, timeoutMs, 200);
  }

  /** An answer over HTTP, by default from the reviewer bound to the expert it names; `reviewer`: another subject's. */
  async review(id: string, body: Record<string, unknown>, reviewer?: string): Promise<Response> {
    const expertId = String(body['expertId']);
    return fetch(`${this.intake}/v1/deployment-requests/${id}/reviews`, {
      method: 'POST',
      headers: await this.reviewer(expertId, reviewer ?? reviewerOf(expertId)),
      body: JSON.stringify(body),
    });
  }

  /**
   * Waits until the system has nothing in flight: every outbox sent and every service consumer caught up. Work
   * that follows a decision (learning, notifications, cancelled timers) keeps adding to a request's trail for a
   * while after the decision itself is audited.
   */
  async settled(timeoutMs = 60_000): Promise<void> {
    const outboxes = await this.db.query<{ schema: string }>(`SELECT "table_schema" AS "schema" FROM "information_schema"."tables" WHERE "table_name" = 'outbox'`);
    await eventually(async () => {
      // Consumers first: once they are caught up, every outbox row their work wrote is committed, so the outboxes
      // are read after it; what the relays sent meanwhile shows in the second look at the consumers.
      expect(await this.nats.consumerBacklog()).toEqual([]);
      for (const { schema } of outboxes) {
        const [row] = await this.db.query<{ n: string }>(`SELECT count(*) AS "n" FROM "${schema}"."outbox"`);
        expect({ schema, unsent: Number(row!.n) }).toEqual({ schema, unsent: 0 });
      }
      expect(await this.nats.consumerBacklog()).toEqual([]);
    }, timeoutMs, 250);
  }

  /** The audit trail of a request (or of any correlation id), read by an auditor from compliance. */
  async auditTrail(correlationId: string): Promise<AuditEntry[]> {
    const response = await fetch(`${this.services.get('compliance')!.url}/v1/audit/trail?requestId=${correlationId}`, { headers: await this.auditor() });
    if (response.status !== 200) throw new Error(`audit trail: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { entries: AuditEntry[] }).entries;
  }
}
