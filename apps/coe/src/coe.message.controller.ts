import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { type InvalidMessage, MessageContext, OnInvalidMessage, OnMessage } from '@agf/messaging';
import { ReviewWorkflow } from './review-workflow';

/** Transport edge of the CoE: each message calls one use case of the workflow. */
@Controller()
export class CoeMessageController {
  constructor(private readonly workflow: ReviewWorkflow) {}

  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    await this.workflow.classifyAndAssign(ctx, event.data);
  }

  @OnMessage('review.submit')
  async reviewSubmitted(event: CloudEvent<'review.submit'>, ctx: MessageContext): Promise<void> {
    await this.workflow.recordReview(ctx, event.data);
  }

  @OnInvalidMessage('review.submit')
  async invalidReviewSubmitted(message: InvalidMessage, ctx: MessageContext): Promise<void> {
    this.workflow.rejectInvalidReview(ctx, message);
  }

  @OnMessage('sla.breached')
  async slaBreached(event: CloudEvent<'sla.breached'>, ctx: MessageContext): Promise<void> {
    await this.workflow.handleBreach(ctx, event.data);
  }

  @OnMessage('compliance.evaluated')
  async complianceEvaluated(event: CloudEvent<'compliance.evaluated'>, ctx: MessageContext): Promise<void> {
    await this.workflow.recordCompliance(ctx, event.data);
  }
}
