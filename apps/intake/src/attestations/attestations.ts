import { Injectable } from '@nestjs/common';
import { decisionStatement, type DsseEnvelope, digestFromMetadata, signStatement } from '@agf/attestation-domain';
import { type Actor, type DecisionMade, type DeploymentRequest } from '@agf/contracts';
import type { EntityManager } from 'typeorm';
import type { DecidedInOneStep } from '../read-model/read-model.projection';
import { AttestationSigner } from './attestation-signer';

/**
 * Signs every final decision as an in-toto statement in a DSSE envelope, in the transaction that records the
 * decision: the first decision of a request is the one attested, as it is the one the read model keeps.
 */
@Injectable()
export class Attestations {
  constructor(private readonly signer: AttestationSigner) {}

  /**
   * Set-based: one read of the requests and their answers, one insert, for all the decisions of a transaction.
   * Requests decided in one step are known already (`decidedInOneStep`, from the read model's lock of them).
   */
  async record(manager: Pick<EntityManager, 'query'>, decisions: DecisionMade[], decidedInOneStep: DecidedInOneStep = new Map()): Promise<void> {
    // Loops rather than callbacks on the batch path: see `invokeInSpan` (libs/messaging) on V8's closures.
    const firstOfRequest = new Map<string, DecisionMade>();
    for (const d of decisions) if (!firstOfRequest.has(d.requestId)) firstOfRequest.set(d.requestId, d);
    const first = [...firstOfRequest.values()];
    if (!first.length) return;
    const toRead: string[] = [];
    for (const d of first) if (!decidedInOneStep.has(d.requestId)) toRead.push(d.requestId);
    const rows = !toRead.length ? [] : ((await manager.query(
      `SELECT r."id", r."request",
              (SELECT COALESCE(json_agg(e."data" ORDER BY e."seq"), '[]'::json) FROM "intake"."request_events" e
                WHERE e."request_id" = r."id" AND e."type" = 'review.completed') AS "answers"
         FROM "intake"."requests" r WHERE r."id" = ANY($1::uuid[])`,
      [toRead],
    )) as Array<{ id: string; request: DeploymentRequest; answers: Array<{ assignmentId: string; actor?: Actor }> }>);
    const known = new Map<string, { metadata: Record<string, unknown> | undefined; answers: Array<{ assignmentId: string; actor?: Actor }> }>([
      ...rows.map((row) => [row.id, { metadata: row.request.metadata, answers: row.answers }] as const),
      ...decidedInOneStep,
    ]);
    const envelopes = first.flatMap((decision) => {
      const row = known.get(decision.requestId);
      if (!row) return [];
      const actorsByAssignment = new Map(row.answers.flatMap((a) => (a.actor ? [[a.assignmentId, a.actor] as const] : [])));
      const statement = decisionStatement({ decision, digest: digestFromMetadata(row.metadata), actorsByAssignment });
      return [{ requestId: decision.requestId, envelope: signStatement(statement, this.signer.privateKey) }];
    });
    if (!envelopes.length) return;
    await manager.query(
      `INSERT INTO "intake"."attestations" ("request_id", "keyid", "envelope")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) ON CONFLICT ("request_id") DO NOTHING`,
      [envelopes.map((e) => e.requestId), envelopes.map((e) => e.envelope.signatures[0]!.keyid), envelopes.map((e) => JSON.stringify(e.envelope))],
    );
  }

  async find(manager: Pick<EntityManager, 'query'>, requestId: string): Promise<DsseEnvelope | undefined> {
    const [row] = (await manager.query(`SELECT "envelope" FROM "intake"."attestations" WHERE "request_id" = $1`, [requestId])) as Array<{ envelope: DsseEnvelope }>;
    return row?.envelope;
  }
}
