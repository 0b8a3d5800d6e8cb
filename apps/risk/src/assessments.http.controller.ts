import { Controller, Get, Param, Req } from '@nestjs/common';
import { canReadProject, type Principal } from '@agf/access-domain';
import { type RiskAssessed, Uuid } from '@agf/contracts';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { riskRepository as repo } from './risk.repository';

/** The stored assessment of a request, with every analyzer's factors, for its project's submitters and auditors. */
@Controller('v1/assessments')
@Roles('submitter', 'auditor')
export class AssessmentsHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refusals: AccessRefusals,
  ) {}

  @Get(':requestId')
  async get(@Param('requestId') requestId: string, @CurrentPrincipal() principal: Principal, @Req() req: Request): Promise<Omit<RiskAssessed, 'request'>> {
    if (!Uuid.safeParse(requestId).success) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'requestId must be a UUID', [{ path: 'requestId', message: 'expected a UUID' }]);
    }
    const assessed = await repo.assessment(this.dataSource, requestId);
    const notFound = `no assessment for request ${requestId}`;
    if (!assessed) throw new ProblemError(404, 'not-found', 'Not Found', notFound);
    // Another project's assessment is answered like one that does not exist (no existence leak), and recorded.
    if (!canReadProject(principal, assessed.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', notFound, principal);
    const { request: _request, ...assessment } = assessed;
    return assessment;
  }
}
