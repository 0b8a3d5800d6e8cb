import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ReviewSubmissionInput } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { ProblemError } from '@agf/platform';
import type { Request } from 'express';
import { parseJsonBody } from '../http-input';
import { RequestViewRepository } from '../requests/request-view.repository';

const OPEN_STATUSES = new Set(['pending', 'breached']);

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
      if (request.decision) throw new ProblemError(409, 'already-decided', 'Conflict', 'the request is already decided');
      const assignment = (await this.repository.findAssignments(id, tx.manager)).find((a) => a.id === review.assignmentId);
      if (!assignment) throw new ProblemError(422, 'unknown-assignment', 'Unprocessable Content', `assignment ${review.assignmentId} is not an assignment of this request`);
      if (review.expertId === request.requester) {
        throw new ProblemError(422, 'separation-of-duties', 'Unprocessable Content', 'the requester cannot review their own deployment');
      }
      if (assignment.expert_id !== review.expertId) {
        throw new ProblemError(422, 'not-assigned-expert', 'Unprocessable Content', `assignment ${assignment.id} belongs to another expert`);
      }
      if (!OPEN_STATUSES.has(assignment.status)) throw new ProblemError(409, 'assignment-closed', 'Conflict', `assignment is ${assignment.status}`);
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
