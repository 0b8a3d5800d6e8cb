import { Controller, Get, Param, Query } from '@nestjs/common';
import { type ChainVerificationResult, verifyPagedChain } from '@agf/compliance-domain';
import { type ComplianceEvaluated, Uuid } from '@agf/contracts';
import { ProblemError } from '@agf/platform';
import { DataSource } from 'typeorm';
import { auditRepository as audit } from './audit.repository';
import { evaluationRepository as repo } from './evaluation.repository';

function requireUuid(value: string | undefined, name: string): string {
  if (!value || !Uuid.safeParse(value).success) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', `${name} must be a UUID`, [{ path: name, message: 'expected a UUID' }]);
  }
  return value;
}

/** Auditors' view: the chain's integrity, one request's trail, and its latest control evaluation. */
@Controller('v1')
export class AuditHttpController {
  constructor(private readonly dataSource: DataSource) {}

  @Get('audit/verify')
  async verify(): Promise<ChainVerificationResult> {
    // The head is read first: entries appended during the walk lie beyond it and are not judged this time.
    const head = await audit.head(this.dataSource);
    return verifyPagedChain((after, limit) => audit.page(this.dataSource, after, Math.min(limit, head.sequence - after)), head);
  }

  @Get('audit/trail')
  async trail(@Query('requestId') requestId: string | undefined) {
    const id = requireUuid(requestId, 'requestId');
    const entries = await audit.trailOf(this.dataSource, id, 10_000);
    return { requestId: id, entries };
  }

  @Get('compliance/:requestId')
  async evaluation(@Param('requestId') requestId: string): Promise<ComplianceEvaluated> {
    const evaluation = await repo.latestEvaluation(this.dataSource, requireUuid(requestId, 'requestId'));
    if (!evaluation) throw new ProblemError(404, 'not-found', 'Not Found', `no compliance evaluation for request ${requestId}`);
    return evaluation;
  }
}
