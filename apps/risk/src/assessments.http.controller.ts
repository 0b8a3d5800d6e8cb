import { Controller, Get, Param } from '@nestjs/common';
import { type RiskAssessed, Uuid } from '@agf/contracts';
import { ProblemError } from '@agf/platform';
import { DataSource } from 'typeorm';
import { riskRepository as repo } from './risk.repository';

/** The stored assessment of a request, with every analyzer's factors, for reviewers and auditors. */
@Controller('v1/assessments')
export class AssessmentsHttpController {
  constructor(private readonly dataSource: DataSource) {}

  @Get(':requestId')
  async get(@Param('requestId') requestId: string): Promise<Omit<RiskAssessed, 'request'>> {
    if (!Uuid.safeParse(requestId).success) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'requestId must be a UUID', [{ path: 'requestId', message: 'expected a UUID' }]);
    }
    const assessed = await repo.assessment(this.dataSource, requestId);
    if (!assessed) throw new ProblemError(404, 'not-found', 'Not Found', `no assessment for request ${requestId}`);
    const { request: _request, ...assessment } = assessed;
    return assessment;
  }
}
