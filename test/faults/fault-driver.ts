import { randomUUID } from 'node:crypto';
import { aDeploymentRequestInput } from '@agf/contracts/testing';
import type { DeploymentRequestInput } from '@agf/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { Namespace } from '@agf/messaging';
import type { TestIdentity } from '@agf/testing';

/** The kinds of request the driver mixes: each takes a different path through AGF. */
const KINDS: Array<(i: number) => Partial<DeploymentRequestInput>> = [
  // no trigger: PROCEED_STANDARD straight away
  (i) => ({ projectId: `plain-${i % 5}` }),
  // security change on tier 0: automated validators only
  (i) => ({ projectId: `sec-${i % 3}`, changes: ['src/auth/session.ts'], riskIndicators: { codeChanges: 20, filesChanged: 2, testsPassed: true, userImpact: 'low', securitySensitive: true } }),
  // tier 1: a human standard reviewer
  (i) => ({ projectId: `mid-${i % 3}`, changes: ['src/auth/session.ts', 'src/payments/ledger.ts'], riskIndicators: { codeChanges: 900, filesChanged: 40, testsPassed: true, userImpact: 'high', securitySensitive: true, vulnerabilities: { high: 2 } } }),
  // tier 2: strategic reviewers and human oversight
  (i) => ({ projectId: `big-${i % 2}`, changes: ['src/auth/session.ts'], riskIndicators: { codeChanges: 2500, filesChanged: 120, testsPassed: true, userImpact: 'critical', completionPercentage: 100, securitySensitive: true, touchesPersonalData: true } }),
];

export interface DriverCounts {
  httpAccepted: number;
  natsPublished: number;
  /** Attempts the system answered with "not now" (503, 429, connection refused) and the driver retried. */
  refused: number;
  /** 5xx answers other than 503: the system failed to say what went wrong. */
  unexpected5xx: number;
  /** 401 and 403: every credential the driver sends is valid, so none should be refused. */
  credentialRefused: number;
  reviewsPosted: number;
}

/** Tokens outlive the longest run (the full suite takes up to 15 minutes). */
const TOKEN_SECONDS = 3600;

/**
 * A pipeline fleet and its reviewers: submits a steady stream of requests over HTTP and NATS (each
 * retried with the same idempotency key until accepted, as a CI job would), and approves every human
 * assignment it finds. The fleet is one submitter (`ci-bot`, the requester of every request); each human
 * answers with a token whose subject is its expert id (the fixture's `principal:` bindings).
 */
export class FaultDriver {
  readonly counts: DriverCounts = { httpAccepted: 0, natsPublished: 0, refused: 0, unexpected5xx: 0, credentialRefused: 0, reviewsPosted: 0 };
  readonly httpIds = new Set<string>();
  private running = false;
  private loops: Promise<void>[] = [];
  private sequence = 0;
  private submitterToken: Promise<string> | undefined;
  private readonly reviewerTokens = new Map<string, Promise<string>>();

  constructor(
    private readonly intakeUrl: () => string,
    private readonly js: JetStreamClient,
    private readonly namespace: Namespace,
    private readonly query: <T>(sql: string) => Promise<T[]>,
    private readonly log: (line: string) => void,
    private readonly identity: TestIdentity,
  ) {}

  private submitter(): Promise<string> {
    return (this.submitterToken ??= this.identity.bearer({ sub: 'ci-bot', roles: ['submitter'], projects: ['*'] }, { expiresIn: TOKEN_SECONDS }));
  }

  private reviewer(expertId: string): Promise<string> {
    let token = this.reviewerTokens.get(expertId);
    if (!token) {
      token = this.identity.bearer({ sub: expertId, roles: ['reviewer'] }, { expiresIn: TOKEN_SECONDS });
      this.reviewerTokens.set(expertId, token);
    }
    return token;
  }

  start(requestsPerSecond: number): void {
    this.running = true;
    this.loops = [this.submitLoop(requestsPerSecond), this.reviewLoop()];
  }

  async stopSubmitting(): Promise<void> {
    this.running = false;
    await this.loops[0];
  }

  /** Keeps reviewing until told to stop (after every request is decided). */
  reviewing = true;

  async stop(): Promise<void> {
    this.running = false;
    this.reviewing = false;
    await Promise.all(this.loops);
  }

  private async submitLoop(rate: number): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    while (this.running) {
      const i = this.sequence++;
      const input = aDeploymentRequestInput({ ...KINDS[i % KINDS.length]!(i), version: `1.0.${i}` });
      const submission = (i % 3 === 2 ? this.submitOverNats(input, `fault-nats-${i}-${randomUUID()}`) : this.submitOverHttp(input, `fault-http-${i}-${randomUUID()}`)).finally(() =>
        inFlight.delete(submission),
      );
      inFlight.add(submission);
      await sleep(1000 / rate);
    }
    await Promise.all(inFlight);
  }

  private async submitOverHttp(input: DeploymentRequestInput, key: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(`${this.intakeUrl()}/v1/deployment-requests`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key, authorization: await this.submitter() },
          body: JSON.stringify(input),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status === 202) {
          this.httpIds.add((JSON.parse(text) as { id: string }).id);
          this.counts.httpAccepted += 1;
          return;
        }
        if (response.status >= 500 && response.status !== 503) {
          this.counts.unexpected5xx += 1;
          this.log(`unexpected ${response.status}: ${text}`);
        } else if (this.refusedCredential(response.status, text)) return;
        else this.counts.refused += 1;
      } catch {
        this.counts.refused += 1; // intake down or restarting: connection refused or reset
      }
      await sleep(Math.min(2000, 200 * 2 ** attempt));
    }
  }

  private async submitOverNats(input: DeploymentRequestInput, msgID: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const h = headers();
        h.set('Authorization', await this.submitter());
        await this.js.publish(this.namespace.subject('agf.v1.intake.submit'), JSON.stringify(input), { msgID, headers: h, timeout: 5000 });
        this.counts.natsPublished += 1;
        return;
      } catch {
        this.counts.refused += 1; // NATS down: no publish ack, so the pipeline retries with the same Nats-Msg-Id
      }
      await sleep(Math.min(2000, 200 * 2 ** attempt));
    }
  }

  /** A 401 or 403 is a fault of the test (a credential or a binding), not of the system: counted and given up. */
  private refusedCredential(status: number, text: string): boolean {
    if (status !== 401 && status !== 403) return false;
    this.counts.credentialRefused += 1;
    this.log(`credential refused, ${status}: ${text}`);
    return true;
  }

  private async reviewLoop(): Promise<void> {
    const posted = new Set<string>();
    while (this.reviewing) {
      try {
        const pending = await this.query<{ id: string; request_id: string; expert_id: string }>(
          `SELECT "id", "request_id", "expert_id" FROM "intake"."assignments" WHERE "status" = 'pending' AND "expert_kind" = 'human' ORDER BY "assigned_at" LIMIT 500`,
        );
        for (const a of pending.filter((p) => !posted.has(p.id))) {
          const response = await fetch(`${this.intakeUrl()}/v1/deployment-requests/${a.request_id}/reviews`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: await this.reviewer(a.expert_id) },
            body: JSON.stringify({ assignmentId: a.id, expertId: a.expert_id, decision: 'approve', comments: 'approved by the fault driver' }),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await response.text();
          if (this.refusedCredential(response.status, text)) {
            posted.add(a.id); // asking again would only be refused again
            continue;
          }
          // 202: sent; 409: already answered. Anything else (intake or Postgres down) is tried again later.
          if (response.status === 202 || response.status === 409) {
            posted.add(a.id);
            if (response.status === 202) this.counts.reviewsPosted += 1;
          }
        }
      } catch {
        // a dependency is down: try again on the next round
      }
      await sleep(300);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
