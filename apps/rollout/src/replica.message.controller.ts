import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { rolloutRepository as repo } from './rollout.repository';

/**
 * Keeps what the guard needs of other services, from their events (no service reads another's schema): the
 * request and its pre-deployment score from `risk.assessed`, what was approved and its thresholds from
 * `decision.made`. Both writes are idempotent, so a redelivery changes nothing.
 */
@Controller()
export class ReplicaMessageController {
  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    const a = event.data;
    await ctx.lockRequest(a.requestId);
    await repo.upsertRequest(ctx.manager, {
      requestId: a.requestId,
      projectId: a.projectId,
      componentName: a.request.componentName,
      version: a.request.version,
      requester: a.request.requester,
      metadata: a.request.metadata,
      riskScore: a.overallScore,
      revision: a.revision,
    });
  }

  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    await ctx.lockRequest(event.data.requestId);
    await repo.upsertDecision(ctx.manager, event.data);
  }
}
