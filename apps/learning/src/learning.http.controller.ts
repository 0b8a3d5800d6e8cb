import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { canReadProject, type Principal, readableProjects } from '@agf/access-domain';
import { type HistoryStats, ProjectId, Uuid } from '@agf/contracts';
import { historyStats, rankSimilar } from '@agf/learning-domain';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { learningRepository as repo } from './learning.repository';

export interface SimilarPattern {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string | null;
  similarity: number;
  riskScore: number | null;
  tierLevel: number | null;
  decisionOutcome: string | null;
  deploymentOutcome: string | null;
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

function badRequest(path: string, detail: string, message: string): ProblemError {
  return new ProblemError(400, 'invalid-request', 'Bad Request', detail, [{ path, message }]);
}

/**
 * Past requests that looked like this one, and the outcome history the risk service replicates: each answered
 * from the caller's projects only (an auditor's are all of them). Another project's request or history is
 * answered like an unknown one, and the refusal recorded.
 */
@Controller('v1')
@Roles('submitter', 'auditor')
export class LearningHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refusals: AccessRefusals,
  ) {}

  @Get('patterns/similar')
  async similar(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Query('requestId') requestId: string | undefined,
    @Query('limit') limitParam: string | undefined,
  ): Promise<{ requestId: string; similar: SimilarPattern[] }> {
    if (typeof requestId !== 'string' || !Uuid.safeParse(requestId).success) throw badRequest('requestId', 'requestId must be a UUID', 'expected a UUID');
    const limit = parseLimit(limitParam);
    const target = await repo.pattern(this.dataSource, requestId);
    const notFound = `no features for request ${requestId} yet`;
    if (!target?.features) throw new ProblemError(404, 'not-found', 'Not Found', notFound);
    if (!canReadProject(principal, target.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', notFound, principal);
    const candidates = await repo.similarCandidates(this.dataSource, requestId, readableProjects(principal));
    const similar: SimilarPattern[] = rankSimilar(target.features, candidates, limit).map(({ features: _features, ...pattern }) => pattern);
    return { requestId, similar };
  }

  @Get('history/:projectId')
  async history(
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Param('projectId') projectId: string,
    @Query('componentName') componentName: string | undefined,
  ): Promise<{ projectId: string; project: HistoryStats; component?: HistoryStats }> {
    if (!ProjectId.safeParse(projectId).success) throw badRequest('projectId', 'projectId is not a valid project id', 'must match [A-Za-z0-9_-]{1,128}');
    // A project with no history answers with empty statistics, so a project the caller cannot read answers 404
    // whether or not it exists: nothing to tell them apart by.
    if (!canReadProject(principal, projectId)) throw this.refusals.refuseHttp(req, 'not-visible', `no history of project ${projectId} for this principal`, principal);
    if (componentName !== undefined && (typeof componentName !== 'string' || componentName.length === 0)) {
      throw badRequest('componentName', 'componentName must be a non-empty string', 'expected a non-empty string');
    }
    const counts = await repo.outcomeCounts(this.dataSource, projectId, componentName ?? null, new Date());
    const project = historyStats(counts.project);
    if (componentName === undefined) return { projectId, project };
    const component = historyStats(counts.component);
    return { projectId, project, component };
  }
}

function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value)) throw badRequest('limit', `limit must be an integer from 1 to ${MAX_LIMIT}`, 'expected an integer');
  const limit = Number(value);
  if (limit < 1 || limit > MAX_LIMIT) throw badRequest('limit', `limit must be an integer from 1 to ${MAX_LIMIT}`, `expected 1..${MAX_LIMIT}`);
  return limit;
}
