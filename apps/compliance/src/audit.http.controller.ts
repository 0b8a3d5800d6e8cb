import { randomUUID } from 'node:crypto';
import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import type { ChainVerificationResult } from '@agf/compliance-domain';
import { type ComplianceEvaluated, Uuid } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { AuditCheckpointer } from './audit-checkpointer';
import { verifyAuditChain } from './audit-verification';
import { auditRepository as audit } from './audit.repository';
import { evaluationRepository as repo } from './evaluation.repository';
import { personalValues } from './privacy/personal-values.repository';

function requireUuid(value: string | undefined, name: string): string {
  if (!value || !Uuid.safeParse(value).success) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', `${name} must be a UUID`, [{ path: name, message: 'expected a UUID' }]);
  }
  return value;
}

/**
 * Auditors' view: the chain's integrity, one request's trail, and its latest control evaluation. Reading the
 * evidence is evidence too: each read is recorded (`security.audit.read`, chained like every other event)
 * before it is answered, and a read that cannot be recorded is not answered.
 */
@Controller('v1')
@Roles('auditor')
export class AuditHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    private readonly checkpointer: AuditCheckpointer,
  ) {}

  @Get('audit/verify')
  async verify(@CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<ChainVerificationResult> {
    await this.recordRead(principal, req);
    return verifyAuditChain(this.dataSource, this.checkpointer);
  }

  @Get('audit/trail')
  async trail(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Query('requestId') requestId: string | undefined) {
    const id = requireUuid(requestId, 'requestId');
    await this.recordRead(principal, req);
    // Personal values in place of their commitments (hashes are those of the stored, sealed entries).
    const entries = await personalValues.reveal(this.dataSource, await audit.trailOf(this.dataSource, id, 10_000));
    return { requestId: id, entries };
  }

  @Get('compliance/:requestId')
  async evaluation(@CurrentPrincipal() principal: Principal, @Req() req: Request, @Param('requestId') requestId: string): Promise<ComplianceEvaluated> {
    const id = requireUuid(requestId, 'requestId');
    await this.recordRead(principal, req);
    const evaluation = await repo.latestEvaluation(this.dataSource, id);
    if (!evaluation) throw new ProblemError(404, 'not-found', 'Not Found', `no compliance evaluation for request ${requestId}`);
    return evaluation;
  }

  /**
   * Correlated with nothing but itself: under the request it reads, each read would change the very trail it
   * read (and the next read's answer).
   */
  private async recordRead(principal: Principal, req: Request): Promise<void> {
    await this.publisher.transaction(async (tx) => {
      tx.emit({
        name: 'security.audit.read',
        correlationId: randomUUID(),
        data: { actor: actorOf(principal, 'http'), target: req.originalUrl.slice(0, 2048), readAt: new Date().toISOString() },
      });
    });
  }
}
