import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { acceptReview, type ReviewRefusalCode } from '@agf/coe-domain';
import { newId, ReviewSubmissionInput } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { cancellationOf, RequestViewRepository } from '../requests/request-view.repository';
import { notFoundDetail, RequestVisibility } from '../requests/request-visibility';

/** How each of the CoE's reasons to refuse an answer is answered over HTTP (an unknown request is a 404 before). */
const PROBLEM_STATUS = {
  'unknown-request': [404, 'Not Found'],
  'unknown-assignment': [422, 'Unprocessable Content'],
  'not-assigned-expert': [422, 'Unprocessable Content'],
  'separation-of-duties': [422, 'Unprocessable Content'],
  'already-decided': [409, 'Conflict'],
  'assignment-closed': [409, 'Conflict'],
  // The CoE's answers to a credential it refuses over NATS; over HTTP these are settled before (401, 403).
  unauthenticated: [401, 'Unauthorized'],
  forbidden: [403, 'Forbidden'],
} as const satisfies Record<ReviewRefusalCode, readonly [number, string]>;

/**
 * A reviewer's answer, checked against intake's read model with the CoE's own rules (`acceptReview`), so
 * that a reviewer hears at once what the CoE would refuse; the CoE checks again against its own state and
 * answers what became void meanwhile with `review.rejected` (shown in the request's view). Only a principal
 * bound to the assigned expert may answer, and never the request's requester. An escalation step is answered
 * like any assignment (its answer decides the request); the after-the-fact review of a break-glass approval
 * is answered after the decision; a cancelled assignment takes no answer (409 `assignment-closed`).
 */
@Controller('v1/deployment-requests/:id/reviews')
@Roles('reviewer')
export class ReviewsHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly repository: RequestViewRepository,
    private readonly visibility: RequestVisibility,
    private readonly refusals: AccessRefusals,
  ) {}

  @Post()
  @HttpCode(202)
  async submit(@Param('id') id: string, @Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const review = parseJsonBody(req, body, ReviewSubmissionInput);
    return this.publisher.transaction(async (tx) => {
      const request = await this.repository.findRequest(id, tx.manager);
      if (!request) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));
      const assignments = await this.repository.findAssignments(id, tx.manager);
      if (!(await this.visibility.canSee(principal, request, tx.manager, assignments))) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));
      const row = assignments.find((a) => a.id === review.assignmentId);
      const expertId = row?.expert_id ?? review.expertId;
      if (!this.visibility.expertsOf(principal).has(expertId)) {
        throw this.refusals.refuseHttp(req, 'not-bound-to-expert', `${principal.subject} may not answer for expert ${expertId}`);
      }
      if (principal.subject === request.requester) {
        throw this.refusals.refuseHttp(req, 'separation-of-duties', 'the requester cannot review their own deployment');
      }
      const verdict = acceptReview({
        review,
        request,
        assignment: row && { id: row.id, expertId: row.expert_id, status: row.status },
        // The review after a break-glass approval is asked for by the decision itself: it is answered after it.
        // A cancelled assignment is closed whatever closed it, and says so (`assignment-closed`).
        decided: request.decision !== null && row?.purpose !== 'after-the-fact' && row?.status !== 'cancelled',
      });
      if (!verdict.accepted) {
        const { code } = verdict.refusal;
        const cancelledFor = row && code === 'assignment-closed' ? cancellationOf(row, request.decision?.decidedAt)?.reason : undefined;
        const reason = cancelledFor ? `the assignment was cancelled (${cancelledFor}); it needs no answer` : verdict.refusal.reason;
        const [status, title] = PROBLEM_STATUS[code];
        throw new ProblemError(status, code, title, reason);
      }
      const assignment = verdict.assignment;
      const eventId = newId();
      const claimed: unknown[] = await tx.manager.query(
        `INSERT INTO "intake"."review_submissions" ("assignment_id", "request_id", "expert_id", "event_id") VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [assignment.id, id, review.expertId, eventId],
      );
      if (!claimed.length) throw new ProblemError(409, 'already-answered', 'Conflict', 'this assignment was already answered');
      tx.emit({
        name: 'review.submit',
        id: eventId,
        correlationId: id,
        data: {
          requestId: id,
          projectId: request.project_id,
          assignmentId: assignment.id,
          expertId: review.expertId,
          decision: review.decision,
          comments: review.comments,
          conditions: review.conditions ?? [],
          ...(review.confidence !== undefined ? { confidence: review.confidence } : {}),
          submittedAt: new Date().toISOString(),
          actor: actorOf(principal, 'http'),
        },
      });
      return { requestId: id, assignmentId: assignment.id, status: 'submitted' };
    });
  }
}
