import { Controller, Inject } from '@nestjs/common';
import type { CloudEvent, DeploymentRequest, RiskAssessed } from '@agf/contracts';
import { type LaterEmitter, MessageContext, OnMessage, onePerKey } from '@agf/messaging';
import { POLICY } from '@agf/platform';
import type { GovernancePolicy } from '@agf/policy';
import { assessRisk, DEFAULT_DEFECT_MODEL_WEIGHT, defectModelFactor, withDefectModel } from '@agf/risk-domain';
import type { EntityManager } from 'typeorm';
import { historyKey, riskRepository as repo } from './risk.repository';
import { RiskMetrics } from './risk-metrics';
import { DefectModelStore } from './defect-models';

/** A request to score at the end of its message's transaction, with what publishing its assessment needs. */
interface PendingAssessment {
  request: DeploymentRequest;
  ctx: MessageContext;
  emit: LaterEmitter;
}

/** Scores each accepted request and keeps the history replica the historical analyzer reads. */
@Controller()
export class RiskMessageController {
  constructor(
    @Inject(POLICY) private readonly policy: GovernancePolicy,
    private readonly metrics: RiskMetrics,
    private readonly defectModels: DefectModelStore,
  ) {}

  /**
   * Scored at the end of the transaction, with the other requests of its batch: one read of histories and
   * model sequences and one insert for all of them instead of three statements each. The history read then
   * also sees the `learning.model.updated` of the same batch.
   */
  @OnMessage('deployment.requested')
  async deploymentRequested(event: CloudEvent<'deployment.requested'>, ctx: MessageContext): Promise<void> {
    const item: PendingAssessment = { request: event.data, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('assessments', item, (manager, items: PendingAssessment[]) => this.assessAll(manager, items));
  }

  @OnMessage('learning.model.updated')
  async modelUpdated(event: CloudEvent<'learning.model.updated'>, ctx: MessageContext): Promise<void> {
    await repo.applyModelUpdate(ctx.manager, event.data);
  }

  private async assessAll(manager: EntityManager, items: PendingAssessment[]): Promise<void> {
    // The inbox drops a redelivered event; a request published twice under two event ids is scored once, by its first.
    const requests = onePerKey(items, (i) => i.request.requestId);
    const wanted = requests.map((i) => i.request);
    const { views: histories, modelSequences } = await repo.histories(manager, wanted, this.defectModels.scopesFor(wanted));
    const models = await this.defectModels.modelsFor(manager, wanted, modelSequences);
    const modelWeight = this.policy.governance.risk_weights.model ?? DEFAULT_DEFECT_MODEL_WEIGHT;
    const assessedAt = new Date().toISOString();
    const scored = requests.map((item) => {
      const { request } = item;
      const analyzed = assessRisk({ request, history: histories.get(historyKey(request)) ?? {}, weights: this.policy.governance.risk_weights });
      const assessment = withDefectModel(analyzed, defectModelFactor(request, models.get(request.projectId), modelWeight));
      const assessed: RiskAssessed = { requestId: request.requestId, projectId: request.projectId, ...assessment, revision: 1, request, assessedAt };
      return { item, assessed };
    });
    // A request assessed by an earlier transaction keeps that assessment, and nothing is published again.
    const stored = await repo.insertAssessments(manager, scored.map((s) => s.assessed));
    for (const { item, assessed } of scored.filter((s) => stored.has(s.assessed.requestId))) {
      item.emit({ name: 'risk.assessed', correlationId: assessed.requestId, data: assessed });
      item.ctx.onCommitted(() => this.metrics.observe(assessed));
    }
  }
}
