import { Controller } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import type { CloudEvent } from '@agf/contracts';
import { type InvalidMessage, MessageContext, OnInvalidMessage, OnMessage } from '@agf/messaging';
import { AccessRefusals, Authenticator } from '@agf/platform';
import { ReviewWorkflow, type VerifiedAnswerer } from './review-workflow';

/** Intake's CloudEvent source: its review API authenticated the reviewer and put the actor in the answer. */
const INTAKE_SOURCE = 'agf/intake';

/** Transport edge of the CoE: each message calls one use case of the workflow. */
@Controller()
export class CoeMessageController {
  constructor(
    private readonly workflow: ReviewWorkflow,
    private readonly authenticator: Authenticator,
    private readonly refusals: AccessRefusals,
  ) {}

  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    await this.workflow.classifyAndAssign(ctx, event.data);
  }

  /**
   * An answer is taken only from a verified principal: intake's, which authenticated the reviewer over HTTP,
   * or one whose `Authorization` header authenticates here (an external automated expert). Each security
   * refusal is recorded with the rejection, in the message's transaction.
   */
  @OnMessage('review.submit')
  async reviewSubmitted(event: CloudEvent<'review.submit'>, ctx: MessageContext): Promise<void> {
    const answerer = await this.answererOf(event, ctx);
    if ('reason' in answerer) {
      this.workflow.rejectReview(ctx, event.data, { code: 'unauthenticated', reason: answerer.reason });
      this.refusals.refuseMessage(ctx, { code: 'unauthenticated', reason: answerer.reason, requestId: event.data.requestId });
      return;
    }
    const refusal = await this.workflow.recordReview(ctx, event.data, answerer);
    if (refusal?.security) {
      this.refusals.refuseMessage(ctx, { code: refusal.security, reason: refusal.reason, requestId: event.data.requestId, ...(answerer.principal ? { principal: answerer.principal } : {}) });
    }
  }

  @OnInvalidMessage('review.submit')
  async invalidReviewSubmitted(message: InvalidMessage, ctx: MessageContext): Promise<void> {
    this.workflow.rejectInvalidReview(ctx, message);
  }

  @OnMessage('sla.breached')
  async slaBreached(event: CloudEvent<'sla.breached'>, ctx: MessageContext): Promise<void> {
    await this.workflow.handleBreach(ctx, event.data);
  }

  /** A break-glass approval (intake checked the `emergency` role): an emergency decision, reviewed after the fact. */
  @OnMessage('deployment.break_glass')
  async breakGlass(event: CloudEvent<'deployment.break_glass'>, ctx: MessageContext): Promise<void> {
    await this.workflow.breakGlass(ctx, event.data);
  }

  @OnMessage('compliance.evaluated')
  async complianceEvaluated(event: CloudEvent<'compliance.evaluated'>, ctx: MessageContext): Promise<void> {
    await this.workflow.recordCompliance(ctx, event.data);
  }

  private async answererOf(event: CloudEvent<'review.submit'>, ctx: MessageContext): Promise<(VerifiedAnswerer & { principal?: Principal }) | { reason: string }> {
    // Trusted on the word of the bus: anyone who may publish on the review subjects can claim to be intake.
    // Who may publish what on NATS is the job of the "production topology" issue (accounts and permissions).
    if (event.source === INTAKE_SOURCE && event.data.actor) return { actor: event.data.actor };
    const authentication = await this.authenticator.authenticate(ctx.header('Authorization'));
    if (!authentication.ok) return { reason: authentication.reason };
    const { principal } = authentication;
    return { actor: actorOf(principal, 'nats'), roles: principal.roles, principal };
  }
}
