import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { LIMITS } from '@agf/contracts';
import { ProblemError } from '@agf/platform';
import type { Response } from 'express';
import { DecisionWaiters } from '../decisions/decision-waiters';
import { RequestViewRepository, toRequestView } from './request-view.repository';

const notFound = (id: string) => new ProblemError(404, 'not-found', 'Not Found', `no deployment request ${id}`);

@Controller('v1/deployment-requests')
export class RequestsHttpController {
  constructor(
    private readonly repository: RequestViewRepository,
    private readonly waiters: DecisionWaiters,
  ) {}

  @Get(':id')
  async get(@Param('id') id: string) {
    const row = await this.repository.findRequest(id);
    if (!row) throw notFound(id);
    const [assignments, rejectedAnswers] = await Promise.all([this.repository.findAssignments(id), this.repository.findRejectedAnswers(id)]);
    return toRequestView(row, assignments, rejectedAnswers);
  }

  @Get(':id/decision')
  async decision(@Param('id') id: string, @Query('waitSeconds') waitSecondsText: string | undefined, @Res({ passthrough: true }) res: Response) {
    const waitSeconds = parseWaitSeconds(waitSecondsText);
    let current = await this.repository.findDecision(id);
    if (!current) throw notFound(id);
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
    return { id, status: current.status, decision: null };
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
