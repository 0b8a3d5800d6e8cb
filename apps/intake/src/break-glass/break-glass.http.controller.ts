import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { actorOf, coversProject, type Principal } from '@agf/access-domain';
import { BreakGlassInput, newId } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { RequestViewRepository } from '../requests/request-view.repository';
import { notFoundDetail } from '../requests/request-visibility';

/**
 * Break-glass: someone with the `emergency` role, for a project in their scope, asks for an immediate
 * approval of an undecided request. Intake records it once per request and announces it
 * (`deployment.break_glass`); the CoE decides it as an emergency change, with a review after the fact.
 */
@Controller('v1/deployment-requests/:id/break-glass')
@Roles('emergency')
export class BreakGlassHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly repository: RequestViewRepository,
    private readonly refusals: AccessRefusals,
  ) {}

  @Post()
  @HttpCode(202)
  async request(@Param('id') id: string, @Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const input = parseJsonBody(req, body, BreakGlassInput);
    return this.publisher.transaction(async (tx) => {
      const request = await this.repository.findRequest(id, tx.manager);
      if (!request) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));
      if (!coversProject(principal, request.project_id)) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
      if (request.decision) throw new ProblemError(409, 'already-decided', 'Conflict', `the request is already decided (${request.decision.outcome})`);
      const eventId = newId();
      const requestedAt = new Date().toISOString();
      const actor = actorOf(principal, 'http');
      // One break-glass per request, enforced here so that racing calls get a clean 409.
      const claimed: unknown[] = await tx.manager.query(
        `INSERT INTO "intake"."break_glass_requests" ("request_id", "event_id", "justification", "actor", "requested_at") VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [id, eventId, input.justification, JSON.stringify(actor), requestedAt],
      );
      if (!claimed.length) throw new ProblemError(409, 'break-glass-requested', 'Conflict', 'a break-glass approval was already asked for this request');
      tx.emit({
        name: 'deployment.break_glass',
        id: eventId,
        correlationId: id,
        data: { requestId: id, projectId: request.project_id, justification: input.justification, actor, requestedAt },
      });
      return { requestId: id, breakGlassId: eventId, status: 'requested' as const };
    });
  }
}
