import { Controller, Logger } from '@nestjs/common';
import type { CloudEvent, LearningModelUpdated, PayloadOf } from '@agf/contracts';
import { extractFeatures, historyStats } from '@agf/learning-domain';
import { MessageContext, OnMessage } from '@agf/messaging';
import { type PatternRow, learningRepository as repo, type StoredRisk } from './learning.repository';
import { LearningMetrics } from './learning-metrics';

/**
 * Joins risk.assessed, decision.made and deployment.outcome of one request into a pattern row, whatever order
 * they arrive in, and publishes the history the risk service replicates.
 */
@Controller()
export class LearningMessageController {
  private readonly logger = new Logger(LearningMessageController.name);

  constructor(private readonly metrics: LearningMetrics) {}

  @OnMessage('risk.assessed')
  async riskAssessed(event: CloudEvent<'risk.assessed'>, ctx: MessageContext): Promise<void> {
    const assessed = event.data;
    await ctx.lockRequest(assessed.requestId);
    const risk: StoredRisk = {
      overallScore: assessed.overallScore,
      securityScore: assessed.securityScore,
      complexityScore: assessed.complexityScore,
      impactScore: assessed.impactScore,
      historicalScore: assessed.historicalScore,
      confidence: assessed.confidence,
      revision: assessed.revision,
    };
    if (await repo.storeRisk(ctx.manager, assessed, risk, extractFeatures(assessed.request, risk))) await this.captureIfComplete(assessed.requestId, ctx);
  }

  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    const decision = event.data;
    await ctx.lockRequest(decision.requestId);
    if (await repo.storeDecision(ctx.manager, decision)) await this.captureIfComplete(decision.requestId, ctx);
  }

  @OnMessage('deployment.outcome')
  async deploymentOutcome(event: CloudEvent<'deployment.outcome'>, ctx: MessageContext): Promise<void> {
    const outcome = event.data;
    await ctx.lockRequest(outcome.requestId);
    if (!(await repo.storeOutcome(ctx.manager, outcome))) {
      const stored = await repo.pattern(ctx.manager, outcome.requestId);
      if (stored && stored.deploymentOutcome !== outcome.status) {
        this.logger.warn(
          `request ${outcome.requestId}: outcome ${outcome.status} ignored, ${stored.deploymentOutcome ?? 'unknown'} was reported first`,
        );
      }
      return;
    }
    this.metrics.outcomeRecorded(outcome.status);
    await this.emitModelUpdate(outcome.projectId, outcome.componentName, { requestId: outcome.requestId, kind: 'outcome' }, ctx);
  }

  /** Captures the pattern once it has both its features and its decision. */
  private async captureIfComplete(requestId: string, ctx: MessageContext): Promise<void> {
    const row = await repo.captureIfComplete(ctx.manager, requestId);
    if (!row || !isComplete(row)) return;
    const captured: PayloadOf<'learning.pattern.captured'> = {
      requestId,
      projectId: row.projectId,
      componentName: row.componentName,
      features: row.features,
      riskScore: row.risk?.overallScore ?? row.decision.riskScore,
      tierLevel: row.decision.tierLevel,
      decisionOutcome: row.decision.outcome,
      deploymentOutcome: row.deploymentOutcome,
      capturedAt: new Date().toISOString(),
    };
    ctx.emit({ name: 'learning.pattern.captured', correlationId: requestId, data: captured });
    if (row.publishedHistoryIsCurrent) return;
    await this.emitModelUpdate(row.projectId, row.componentName, { requestId, kind: 'decision' }, ctx);
  }

  /**
   * Publishes the project's and component's history when it differs from what was last published for them.
   * An outcome always changes it; a decision changes it only for a component's first decision or after an
   * incident left the recent window, so most decisions publish nothing (risk's replica already holds it).
   */
  private async emitModelUpdate(
    projectId: string,
    componentName: string,
    cause: LearningModelUpdated['cause'],
    ctx: MessageContext,
  ): Promise<void> {
    // The revision first: its row lock orders this project's updates, so the stats read next are at least as new as any lower revision's.
    // A skipped update leaves a gap in the revisions, which replicas do not mind: they keep the highest.
    const revision = await repo.nextRevision(ctx.manager, projectId);
    const now = new Date();
    const counts = await repo.outcomeCounts(ctx.manager, projectId, componentName, now);
    const update: LearningModelUpdated = {
      projectId,
      componentName,
      project: historyStats(counts.project),
      component: historyStats(counts.component),
      revision,
      cause,
      updatedAt: now.toISOString(),
    };
    if (!(await repo.recordPublishedModel(ctx.manager, update))) return;
    ctx.emit({ name: 'learning.model.updated', correlationId: cause.requestId, data: update });
  }
}

function isComplete(row: PatternRow): row is PatternRow & { features: NonNullable<PatternRow['features']>; decision: NonNullable<PatternRow['decision']> } {
  return row.features !== null && row.decision !== null;
}
