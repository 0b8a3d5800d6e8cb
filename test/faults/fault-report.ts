import { STREAM_NAMES } from '@agf/contracts';
import type { Namespace } from '@agf/messaging';
import { eventually, type TestIdentity } from '@agf/testing';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FaultDriver } from './fault-driver';

export interface FaultRun {
  driver: FaultDriver;
  nc: NatsConnection;
  jsm: JetStreamManager;
  namespace: Namespace;
  query: <T>(sql: string) => Promise<T[]>;
  identity: TestIdentity;
  complianceUrl: () => string;
  /** Schemas whose outboxes must drain. */
  schemas: readonly string[];
  decisionTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * After the faults: waits until every accepted request is decided, then until everything settles (outboxes
 * drained, no consumer with pending messages), and reports what was lost, duplicated or dead-lettered.
 */
export async function settleAndReport(run: FaultRun) {
  const { driver, nc, jsm, namespace, query, log } = run;
  const expected = driver.counts.httpAccepted + driver.counts.natsPublished;
  log(`submitted: ${JSON.stringify(driver.counts)}; waiting for every decision`);

  const decisions = await eventually(
    async () => {
      const accepted = await query<{ id: string }>(`SELECT "id" FROM "intake"."requests"`);
      const perRequest = await decisionsPerRequest(nc, namespace.stream('AGF_DECISION'));
      const missing = accepted.filter((r) => !perRequest.has(r.id));
      expect({ accepted: accepted.length, missing: missing.length }).toEqual({ accepted: expected, missing: 0 });
      return { accepted, perRequest };
    },
    run.decisionTimeoutMs,
    2000,
  );
  driver.reviewing = false;
  await driver.stop();

  const duplicated = [...decisions.perRequest.values()].filter((n) => n > 1).length;
  const unknown = [...decisions.perRequest.keys()].filter((id) => !decisions.accepted.some((r) => r.id === id)).length;
  const lostHttp = [...driver.httpIds].filter((id) => !decisions.accepted.some((r) => r.id === id)).length;

  await eventually(
    async () => {
      for (const schema of run.schemas) {
        const [row] = await query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."outbox"`);
        expect({ schema, unsent: Number(row!.n) }).toEqual({ schema, unsent: 0 });
      }
      for (const stream of STREAM_NAMES) {
        for await (const consumer of jsm.consumers.list(namespace.stream(stream))) {
          // The test's own ordered readers are ephemeral and not AGF's business; every service consumer is durable.
          if (!consumer.config.durable_name) continue;
          expect({ consumer: `${stream}/${consumer.name}`, pending: consumer.num_pending + consumer.num_ack_pending }).toEqual({
            consumer: `${stream}/${consumer.name}`,
            pending: 0,
          });
        }
      }
    },
    120_000,
    1000,
  );
  const auditor = await run.identity.headers({ sub: 'fault-auditor', roles: ['auditor'] });
  const audit = (await (await fetch(`${run.complianceUrl()}/v1/audit/verify`, { headers: auditor })).json()) as { valid: boolean; entries: number };
  const deadLetters = (await jsm.streams.info(namespace.stream('AGF_DLQ')).catch(() => undefined))?.state.messages ?? 0;
  const partialKeys = await query<{ n: string }>(
    `SELECT count(*) AS n FROM "intake"."idempotency_keys" k LEFT JOIN "intake"."requests" r ON r."id" = k."request_id" WHERE r."id" IS NULL`,
  );

  const report = {
    expected,
    accepted: decisions.accepted.length,
    decided: decisions.perRequest.size - unknown,
    lost: decisions.accepted.length - (decisions.perRequest.size - unknown) + lostHttp,
    duplicated,
    deadLettered: deadLetters,
    refused: driver.counts.refused,
    unexpected5xx: driver.counts.unexpected5xx,
    credentialRefused: driver.counts.credentialRefused,
    humanReviews: driver.counts.reviewsPosted,
    auditEntries: audit.entries,
    auditValid: audit.valid,
    idempotencyKeysWithoutRequest: Number(partialKeys[0]!.n),
  };
  log(`result: ${JSON.stringify(report)}`);
  return report;
}

/** decision.made messages per request id, read from the whole decision stream (escalations left out). */
async function decisionsPerRequest(nc: NatsConnection, stream: string): Promise<Map<string, number>> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const counts = new Map<string, number>();
  const info = await jsm.streams.info(stream).catch(() => undefined);
  if (!info?.state.messages) return counts;
  const consumer = await js.consumers.get(stream);
  const last = info.state.last_seq;
  for (;;) {
    const msg = await consumer.next({ expires: 2000 });
    if (!msg) break;
    const event = msg.json<{ type: string; data: { requestId: string } }>();
    // The stream also carries decision.escalated (interim); only decision.made is a decision.
    if (event.type === 'io.agf.decision.made.v1') counts.set(event.data.requestId, (counts.get(event.data.requestId) ?? 0) + 1);
    if (msg.seq >= last) break;
  }
  return counts;
}
