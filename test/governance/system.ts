import { join } from 'node:path';
import { type CloudEvent, DecisionMade, type DeploymentRequestInput, DeploymentRequestView, SubmissionAccepted } from '@agf/contracts';
import { createTestDatabase, eventually, ServiceProcess, type ServiceName, TestNats, type TestDatabase } from '@agf/testing';

export const SERVICES: ServiceName[] = ['intake', 'risk', 'coe', 'sla', 'learning', 'compliance'];

/** The whole system in one test namespace and database, every service its own process. */
export class TestSystem {
  private constructor(
    readonly db: TestDatabase,
    readonly nats: TestNats,
    readonly services: Map<ServiceName, ServiceProcess>,
  ) {}

  static async start(configFile: string): Promise<TestSystem> {
    const db = await createTestDatabase();
    const nats = await TestNats.connect();
    const env = { AGF_CONFIG: join(__dirname, '..', 'fixtures', configFile) };
    const attempts = await Promise.allSettled(SERVICES.map((name) => ServiceProcess.start(name, { databaseUrl: db.url, namespace: nats.namespace.prefix, env })));
    const started = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed) {
      // Leave nothing running: a service left behind keeps the test worker (and CI) alive forever.
      await Promise.all(started.map((s) => s.stop()));
      await nats.cleanup();
      await db.drop();
      throw failed.reason;
    }
    return new TestSystem(db, nats, new Map(started.map((s) => [s.name, s])));
  }

  get intake(): string {
    return this.services.get('intake')!.url;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    await this.nats.cleanup();
    await this.db.drop();
  }

  async submit(input: DeploymentRequestInput): Promise<string> {
    const response = await fetch(`${this.intake}/v1/deployment-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (response.status !== 202) throw new Error(`submit: ${response.status} ${await response.text()}`);
    return SubmissionAccepted.parse(await response.json()).id;
  }

  /** The request's view over HTTP, checked against the schema intake's OpenAPI document gives for it. */
  async view(id: string): Promise<DeploymentRequestView> {
    return DeploymentRequestView.parse(await (await fetch(`${this.intake}/v1/deployment-requests/${id}`)).json());
  }

  /** The decision as CI long-polls for it, checked against its documented schema (no field left out of it). */
  async decisionOverHttp(id: string): Promise<{ status: number; decision?: DecisionMade }> {
    const response = await fetch(`${this.intake}/v1/deployment-requests/${id}/decision?waitSeconds=20`);
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

  async review(id: string, body: Record<string, unknown>): Promise<Response> {
    return fetch(`${this.intake}/v1/deployment-requests/${id}/reviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
}
