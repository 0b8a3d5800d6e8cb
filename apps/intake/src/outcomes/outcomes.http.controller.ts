import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { actorOf, canReadProject, canSubmitFor, type Principal } from '@agf/access-domain';
import { newId, OutcomeReportInput } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { RequestViewRepository } from '../requests/request-view.repository';
import { notFoundDetail } from '../requests/request-visibility';

/** What happened after the decision, reported by a submitter of the request's project (it steers the risk model). */
@Controller('v1/deployment-requests/:id/outcome')
@Roles('submitter')
export class OutcomesHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly repository: RequestViewRepository,
    private readonly refusals: AccessRefusals,
  ) {}

  @Post()
  @HttpCode(202)
  async report(@Param('id') id: string, @Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const outcome = parseJsonBody(req, body, OutcomeReportInput);
    return this.publisher.transaction(async (tx) => {
      const request = await this.repository.findRequest(id, tx.manager);
      if (!request) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));
      if (!canReadProject(principal, request.project_id)) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
      if (!canSubmitFor(principal, request.project_id)) {
        throw this.refusals.refuseHttp(req, 'forbidden', `${principal.subject} may not report outcomes for project ${request.project_id}`);
      }
      if (!request.decision) throw new ProblemError(409, 'not-decided', 'Conflict', 'report an outcome after the decision');
      const eventId = newId();
      const reportedAt = outcome.reportedAt ?? new Date().toISOString();
      await tx.manager.query(
        `INSERT INTO "intake"."outcomes" ("event_id", "request_id", "status", "reported_at", "details") VALUES ($1, $2, $3, $4, $5)`,
        [eventId, id, outcome.status, reportedAt, outcome.details ? JSON.stringify(outcome.details) : null],
      );
      tx.emit({
        name: 'deployment.outcome',
        id: eventId,
        correlationId: id,
        data: {
          requestId: id,
          projectId: request.project_id,
          componentName: request.component_name,
          version: request.version,
          status: outcome.status,
          reportedAt,
          ...(outcome.details ? { details: outcome.details } : {}),
          actor: actorOf(principal, 'http'),
        },
      });
      return { requestId: id, outcomeId: eventId, status: outcome.status };
    });
  }
}
