import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Principal } from '@agf/access-domain';
import { LIMITS } from '@agf/contracts';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request, Response } from 'express';
import { DecisionWaiters } from '../decisions/decision-waiters';
import { RequestViewRepository, toRequestView } from './request-view.repository';
import { notFoundDetail, RequestVisibility } from './request-visibility';

const notFound = (id: string) => new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));

@Controller('v1/deployment-requests')
@Roles('submitter', 'auditor', 'reviewer')
export class RequestsHttpController {
  constructor(
    private readonly repository: RequestViewRepository,
    private readonly waiters: DecisionWaiters,
    private readonly visibility: RequestVisibility,
    private readonly refusals: AccessRefusals,
  ) {}

  @Get(':id')
  async get(@Param('id') id: string, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    const row = await this.repository.findRequest(id);
    if (!row) throw notFound(id);
    const [assignments, rejectedAnswers] = await Promise.all([this.repository.findAssignments(id), this.repository.findRejectedAnswers(id)]);
    if (!(await this.visibility.canSee(principal, row, undefined, assignments))) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
    return toRequestView(row, assignments, rejectedAnswers);
  }

  @Get(':id/decision')
  async decision(
    @Param('id') id: string,
    @Query('waitSeconds') waitSecondsText: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ) {
    const waitSeconds = parseWaitSeconds(waitSecondsText);
    let current = await this.repository.findDecision(id);
    if (!current) throw notFound(id);
    if (!(await this.visibility.canSee(principal, { id, project_id: current.project_id }))) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
    if (current.decision) return current.decision;
    if (waitSeconds > 0) {
      // Wait on an in-memory callback; no connection is held meanwhile.
      const { promise, cancel } = this.waiters.wait(id, waitSeconds * 1000);
      res.once('close', cancel);
      const decision = await promise;
      if (decision) return decision;
      // Read again: the decision may have come from another replica, and the status has moved on meanwhile.
      current = (await this.repository.findDecision(id)) ?? current;
      if (current.decision) return current.decision;
    }
    res.status(202).setHeader('Retry-After', '1');
    // An escalation is no decision: the request waits for the people it names, by its due time.
    return { id, status: current.status, decision: null, ...(current.escalation ? { escalation: current.escalation } : {}) };
  }
}

function parseWaitSeconds(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  const value = Number(text);
  if (!/^\d{1,3}$/.test(text) || value > LIMITS.maxWaitSeconds) {
    throw new ProblemError(400, 'invalid-query', 'Bad Request', undefined, [{ path: 'waitSeconds', message: `expected an integer 0-${LIMITS.maxWaitSeconds}` }]);
  }
  return value;
}
