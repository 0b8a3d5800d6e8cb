import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { acceptReview, type ReviewRefusalCode } from '@agf/coe-domain';
import { ReviewSubmissionInput } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { ProblemError } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { RequestViewRepository } from '../requests/request-view.repository';

/** How each of the CoE's reasons to refuse an answer is answered over HTTP (an unknown request is a 404 before). */
const PROBLEM_STATUS = {
  'unknown-request': [404, 'Not Found'],
  'unknown-assignment': [422, 'Unprocessable Content'],
  'not-assigned-expert': [422, 'Unprocessable Content'],
  'separation-of-duties': [422, 'Unprocessable Content'],
  'already-decided': [409, 'Conflict'],
  'assignment-closed': [409, 'Conflict'],
} as const satisfies Record<ReviewRefusalCode, readonly [number, string]>;

/**
 * A reviewer's answer, checked against intake's read model with the CoE's own rules (`acceptReview`), so
 * that a reviewer hears at once what the CoE would refuse; the CoE checks again against its own state and
 * answers what became void meanwhile with `review.rejected` (shown in the request's view).
 */
@Controller('v1/deployment-requests/:id/reviews')
export class ReviewsHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly repository: RequestViewRepository,
  ) {}

  @Post()
  @HttpCode(202)
  async submit(@Param('id') id: string, @Req() req: Request, @Body() body: unknown) {
    const review = parseJsonBody(req, body, ReviewSubmissionInput);
    return this.publisher.transaction(async (tx) => {
      const request = await this.repository.findRequest(id, tx.manager);
      if (!request) throw new ProblemError(404, 'not-found', 'Not Found', `no deployment request ${id}`);
      const row = (await this.repository.findAssignments(id, tx.manager)).find((a) => a.id === review.assignmentId);
      const verdict = acceptReview({
        review,
        request,
        assignment: row && { id: row.id, expertId: row.expert_id, status: row.status },
        decided: request.decision !== null,
      });
      if (!verdict.accepted) {
        const { code, reason } = verdict.refusal;
        const [status, title] = PROBLEM_STATUS[code];
        throw new ProblemError(status, code, title, reason);
      }
      const assignment = verdict.assignment;
      const eventId = randomUUID();
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
        },
      });
      return { requestId: id, assignmentId: assignment.id, status: 'submitted' };
    });
  }
}
