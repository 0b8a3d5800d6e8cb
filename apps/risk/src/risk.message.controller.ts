import { Controller, Inject } from '@nestjs/common';
import type { CloudEvent, RiskAssessed } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import type { GovernancePolicy } from '@agf/policy';
import { assessRisk } from '@agf/risk-domain';
import { riskRepository as repo } from './risk.repository';
import { RiskMetrics } from './risk-metrics';

/** Scores each accepted request and keeps the history replica the historical analyzer reads. */
@Controller()
export class RiskMessageController {
  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: RiskMetrics,
  ) {}

  @OnMessage('deployment.requested')
  async deploymentRequested(event: CloudEvent<'deployment.requested'>, ctx: MessageContext): Promise<void> {
    const request = event.data;
    const history = await repo.history(ctx.manager, request.projectId, request.componentName);
    const assessment = assessRisk({ request, history, weights: this.policy.governance.risk_weights });
    const assessed: RiskAssessed = {
      requestId: request.requestId,
      projectId: request.projectId,
      ...assessment,
      revision: 1,
      request,
      assessedAt: new Date().toISOString(),
    };
    // The inbox already drops a redelivered event; the key guards a request published twice under two event ids.
    if (!(await repo.insertAssessment(ctx.manager, assessed))) return;
    ctx.emit({ name: 'risk.assessed', correlationId: request.requestId, data: assessed });
    this.metrics.observe(assessed);
  }

  @OnMessage('learning.model.updated')
  async modelUpdated(event: CloudEvent<'learning.model.updated'>, ctx: MessageContext): Promise<void> {
    await repo.applyModelUpdate(ctx.manager, event.data);
  }
}
