import { Injectable } from '@nestjs/common';
import { decisionStatement, type DsseEnvelope, digestFromMetadata, signStatement } from '@agf/attestation-domain';
import { type Actor, type DecisionMade, type DeploymentRequest } from '@agf/contracts';
import type { EntityManager } from 'typeorm';
import { AttestationSigner } from './attestation-signer';

/**
 * Signs every final decision as an in-toto statement in a DSSE envelope, in the transaction that records the
 * decision: the first decision of a request is the one attested, as it is the one the read model keeps.
 */
@Injectable()
export class Attestations {
  constructor(private readonly signer: AttestationSigner) {}

  async record(manager: Pick<EntityManager, 'query'>, decisions: DecisionMade[]): Promise<void> {
    for (const decision of decisions) {
      const [request] = (await manager.query(`SELECT "request" FROM "intake"."requests" WHERE "id" = $1`, [decision.requestId])) as Array<{ request: DeploymentRequest }>;
      if (!request) continue;
      const answers = (await manager.query(
        `SELECT "data" FROM "intake"."request_events" WHERE "request_id" = $1 AND "type" = 'review.completed' ORDER BY "seq"`,
        [decision.requestId],
      )) as Array<{ data: { assignmentId: string; actor?: Actor } }>;
      const actorsByAssignment = new Map(answers.flatMap((a) => (a.data.actor ? [[a.data.assignmentId, a.data.actor] as const] : [])));
      const statement = decisionStatement({ decision, digest: digestFromMetadata(request.request.metadata), actorsByAssignment });
      const envelope = signStatement(statement, this.signer.privateKey);
      await manager.query(`INSERT INTO "intake"."attestations" ("request_id", "keyid", "envelope") VALUES ($1, $2, $3) ON CONFLICT ("request_id") DO NOTHING`, [
        decision.requestId,
        envelope.signatures[0]!.keyid,
        JSON.stringify(envelope),
      ]);
    }
  }

  async find(manager: Pick<EntityManager, 'query'>, requestId: string): Promise<DsseEnvelope | undefined> {
    const [row] = (await manager.query(`SELECT "envelope" FROM "intake"."attestations" WHERE "request_id" = $1`, [requestId])) as Array<{ envelope: DsseEnvelope }>;
    return row?.envelope;
  }
}
