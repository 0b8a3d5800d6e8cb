import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { OutcomeReportInput } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { ProblemError } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { RequestViewRepository } from '../requests/request-view.repository';

@Controller('v1/deployment-requests/:id/outcome')
export class OutcomesHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly repository: RequestViewRepository,
  ) {}

  @Post()
  @HttpCode(202)
  async report(@Param('id') id: string, @Req() req: Request, @Body() body: unknown) {
    const outcome = parseJsonBody(req, body, OutcomeReportInput);
    return this.publisher.transaction(async (tx) => {
      const request = await this.repository.findRequest(id, tx.manager);
      if (!request) throw new ProblemError(404, 'not-found', 'Not Found', `no deployment request ${id}`);
      if (!request.decision) throw new ProblemError(409, 'not-decided', 'Conflict', 'report an outcome after the decision');
      const eventId = randomUUID();
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
        },
      });
      return { requestId: id, outcomeId: eventId, status: outcome.status };
    });
  }
}
