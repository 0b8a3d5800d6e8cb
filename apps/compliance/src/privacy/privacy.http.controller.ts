import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { newPseudonym, subjectDigest } from '@agf/compliance-domain';
import { describeIssues, ErasureInput, eventType, Uuid } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { auditRepository as audit } from '../audit.repository';
import { personalValues, privacyKey } from './personal-values.repository';
import { RetentionJob } from './retention-job';

function parseBody(req: Request, body: unknown): ErasureInput {
  if (!req.is(['application/json', 'application/*+json'])) throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the body as application/json');
  const parsed = ErasureInput.safeParse(body);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', describeIssues(parsed.error).slice(0, 20));
  return parsed.data;
}

/**
 * Erasure, subject access and retention (admin). Erasure removes the person's values from under the audit
 * chain's commitments here, records the erasure in the chain by a commitment only, and asks every service
 * (`privacy.erasure.requested`) to pseudonymise the person in its own schema.
 */
@Controller('v1/privacy')
@Roles('admin')
export class PrivacyHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    private readonly retention: RetentionJob,
  ) {}

  @Post('erasure')
  @HttpCode(202)
  async erase(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Body() body: unknown) {
    const { subject } = parseBody(req, body);
    const erasureId = randomUUID();
    const pseudonym = newPseudonym();
    const requestedAt = new Date().toISOString();
    return this.publisher.transaction(async (tx) => {
      const digest = subjectDigest(await privacyKey(tx.manager), subject);
      const removed: unknown = await tx.manager.query(
        `WITH "gone" AS (DELETE FROM "compliance"."personal_values" WHERE "owners" @> ARRAY[$1::text] RETURNING 1) SELECT count(*)::int AS "n" FROM "gone"`,
        [digest],
      );
      const auditValuesRemoved = (removed as Array<{ n: number }>)[0]?.n ?? 0;
      await tx.manager.query(`DELETE FROM "compliance"."change_people" WHERE "person" = $1`, [digest]);
      await tx.manager.query(
        `INSERT INTO "compliance"."erasures" ("erasure_id", "subject_commitment", "pseudonym", "audit_values_removed", "requested_at") VALUES ($1, $2, $3, $4, $5)`,
        [erasureId, digest, pseudonym, auditValuesRemoved, requestedAt],
      );
      tx.emit({ name: 'privacy.erasure.requested', correlationId: erasureId, data: { erasureId, subject, pseudonym, requestedAt } });
      const recorded = tx.emit({
        name: 'privacy.erasure.recorded',
        correlationId: erasureId,
        data: { erasureId, subjectCommitment: digest, pseudonym, auditValuesRemoved, requestedBy: actorOf(principal, 'http'), requestedAt },
      });
      // Chained now, in this transaction: the erasure is evidence as soon as it happened.
      await audit.appendAll(tx.manager, [recorded]);
      return { erasureId, pseudonym, auditValuesRemoved, status: `/v1/privacy/erasures/${erasureId}` };
    });
  }

  /** Which services have applied an erasure so far (their `privacy.erasure.applied`, as chained). */
  @Get('erasures/:id')
  async erasure(@Param('id') id: string) {
    if (!Uuid.safeParse(id).success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'id must be a UUID', [{ path: 'id', message: 'expected a UUID' }]);
    const rows: Array<{ pseudonym: string; audit_values_removed: number; requested_at: Date }> = await this.dataSource.query(
      `SELECT "pseudonym", "audit_values_removed", "requested_at" FROM "compliance"."erasures" WHERE "erasure_id" = $1`,
      [id],
    );
    if (!rows[0]) throw new ProblemError(404, 'not-found', 'Not Found', `no erasure ${id}`);
    const applied: Array<{ payload: string }> = await this.dataSource.query(
      `SELECT "payload" FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 AND "event_type" = $2 ORDER BY "sequence"`,
      [id, eventType('privacy.erasure.applied')],
    );
    const services = applied.map((a) => (JSON.parse(a.payload) as { data: { service: string; changed: Record<string, number> } }).data);
    return { erasureId: id, pseudonym: rows[0].pseudonym, auditValuesRemoved: rows[0].audit_values_removed, requestedAt: new Date(rows[0].requested_at).toISOString(), appliedBy: services };
  }

  /**
   * Everything AGF holds about a person: every audit entry that names them (the trail holds every event every
   * service stored its data from), with their values in place, and compliance's own records of them.
   */
  @Get('subjects/:subject')
  async subjectAccess(@CurrentPrincipal() principal: Principal, @Param('subject') subject: string) {
    if (!subject || subject.length > 256) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'subject must be 1-256 characters', [{ path: 'subject', message: 'expected 1-256 characters' }]);
    const digest = subjectDigest(await privacyKey(this.dataSource), subject);
    // Recorded under the digest's prefix: the read is evidence, and must not name the person itself.
    await this.publisher.transaction(async (tx) => {
      tx.emit({ name: 'security.audit.read', correlationId: randomUUID(), data: { actor: actorOf(principal, 'http'), target: `/v1/privacy/subjects/hmac:${digest.slice(0, 16)}`, readAt: new Date().toISOString() } });
    });
    const erased = (await this.dataSource.query(`SELECT 1 FROM "compliance"."erasures" WHERE "subject_commitment" = $1 LIMIT 1`, [digest])).length > 0;
    const events: Array<{ event_id: string }> = await this.dataSource.query(`SELECT DISTINCT "event_id" FROM "compliance"."personal_values" WHERE "owners" @> ARRAY[$1::text]`, [digest]);
    const stored = await audit.byEventIds(this.dataSource, events.map((e) => e.event_id));
    const auditEntries = (await personalValues.reveal(this.dataSource, stored)).map((e) => ({ sequence: e.sequence, eventType: e.eventType, occurredAt: e.occurredAt, correlationId: e.correlationId, payload: e.payload }));
    const requests: Array<{ request_id: string; request: unknown }> = await this.dataSource.query(`SELECT "request_id", "request" FROM "compliance"."requests" WHERE "request"->>'requester' = $1`, [subject]);
    const reviews: Array<{ assignment_id: string; request_id: string; expert_id: string; decision: string }> = await this.dataSource.query(
      `SELECT "assignment_id", "request_id", "expert_id", "decision" FROM "compliance"."reviews" WHERE "actor_subject" = $1`,
      [subject],
    );
    return { subject, erased, auditEntries, compliance: { requestsAsRequester: requests, reviewsAnswered: reviews } };
  }

  /**
   * Runs retention now (it also runs on its schedule): here, answering what it removed beside the audit chain,
   * and in every service, each reporting its own `privacy.retention.applied` (chained).
   */
  @Post('retention/run')
  @HttpCode(200)
  async runRetention() {
    return this.retention.runEverywhere();
  }
}
