import { Controller, Logger } from '@nestjs/common';
import { type CloudEvent, decisionAlone, type LearningModelUpdated, type PayloadOf } from '@agf/contracts';
import { extractFeatures, historyStats } from '@agf/learning-domain';
import { type LaterEmitter, MessageContext, OnMessage } from '@agf/messaging';
import type { EntityManager } from 'typeorm';
import { learningRepository as repo, type StoredRisk } from './learning.repository';
import { LearningMetrics } from './learning-metrics';
import { changeMetricsOf, type HistoryOutcome } from '@agf/model-domain';
import { changeHistoryRepository } from './change-history.repository';
import { ModelTrainer } from './model-trainer';

/** A message whose stored risk or decision may complete its request's pattern. */
interface PendingCapture {
  ctx: MessageContext;
  emit: LaterEmitter;
}

interface Capture {
  requestId: string;
  emit: LaterEmitter;
}

/**
 * Joins risk.assessed, decision.made and deployment.outcome of one request into a pattern row, whatever order
 * they arrive in, and publishes the history the risk service replicates. Assessments and decisions are stored
 * at the end of the transaction, one statement for each kind of a whole batch, and the patterns they complete
 * are captured in one more (rather than three statements per request).
 */
@Controller()
export class LearningMessageController {
  private readonly logger = new Logger(LearningMessageController.name);

  constructor(
    private readonly metrics: LearningMetrics,
    private readonly trainer: ModelTrainer,
  ) {}

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
    const item = { assessed, risk, features: extractFeatures(assessed.request, risk), ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('risks', item, async (manager, items: Array<typeof item>) => {
      this.captureLater(items, await repo.storeRisks(manager, items), (i) => i.assessed.requestId);
    });
  }

  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    // The pattern keeps the decision itself, not the classification and reviews it may carry.
    const decision = decisionAlone(event.data);
    await ctx.lockRequest(decision.requestId);
    const item = { decision, ctx, emit: ctx.emitterForLater() };
    ctx.writeLater('decisions', item, async (manager, items: Array<typeof item>) => {
      this.captureLater(items, await repo.storeDecisions(manager, items.map((i) => i.decision)), (i) => i.decision.requestId);
    });
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
    await this.learnChangeOutcome(outcome, ctx);
    await this.emitModelUpdate(outcome.projectId, outcome.componentName, { requestId: outcome.requestId, kind: 'outcome' }, ctx.manager, (e) => ctx.emit(e));
  }

  /**
   * A reported outcome of a request that carried the 14 change metrics joins the change history the defect
   * model learns from, and marks its project for the next scheduled retrain (never on the decision path).
   */
  private async learnChangeOutcome(outcome: CloudEvent<'deployment.outcome'>['data'], ctx: MessageContext): Promise<void> {
    const request = (await repo.pattern(ctx.manager, outcome.requestId))?.request;
    const metrics = request ? changeMetricsOf(request.riskIndicators) : undefined;
    if (!request || !metrics) return;
    const kind: HistoryOutcome = outcome.status === 'succeeded' ? 'clean' : outcome.status === 'rolled_back' ? 'rolled-back' : 'incident';
    const row = { key: `request:${outcome.requestId}`, time: new Date(request.timestamp), metrics, outcome: kind, label: kind === 'clean' ? (0 as const) : (1 as const) };
    if (await changeHistoryRepository.insert(ctx.manager, outcome.projectId, [row], 'outcome')) ctx.onCommitted(() => this.trainer.schedule(outcome.projectId));
  }

  /**
   * After the risks or decisions of a batch are stored (one statement each): captures, in one more statement,
   * the patterns they completed, each on behalf of the message that completed it.
   */
  private captureLater<T extends PendingCapture>(items: T[], completed: Set<string>, requestIdOf: (item: T) => string): void {
    for (const item of items) {
      const requestId = requestIdOf(item);
      if (!completed.delete(requestId)) continue; // once per request, by the first of its messages
      item.ctx.writeLater('captures', { requestId, emit: item.emit }, (manager, captures: Capture[]) => this.capture(manager, captures));
    }
  }

  private async capture(manager: EntityManager, captures: Capture[]): Promise<void> {
    const emitters = new Map(captures.map((c) => [c.requestId, c.emit]));
    for (const row of await repo.captureIfComplete(manager, [...emitters.keys()])) {
      const emit = emitters.get(row.requestId)!;
      const captured: PayloadOf<'learning.pattern.captured'> = {
        requestId: row.requestId,
        projectId: row.projectId,
        componentName: row.componentName,
        features: row.features,
        riskScore: row.riskScore,
        tierLevel: row.tierLevel,
        decisionOutcome: row.decisionOutcome,
        deploymentOutcome: row.deploymentOutcome,
        capturedAt: new Date().toISOString(),
      };
      emit({ name: 'learning.pattern.captured', correlationId: row.requestId, data: captured });
      if (!row.publishedHistoryIsCurrent) await this.emitModelUpdate(row.projectId, row.componentName, { requestId: row.requestId, kind: 'decision' }, manager, emit);
    }
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
    manager: EntityManager,
    emit: LaterEmitter,
  ): Promise<void> {
    // The revision first: its row lock orders this project's updates, so the stats read next are at least as new as any lower revision's.
    // A skipped update leaves a gap in the revisions, which replicas do not mind: they keep the highest.
    const revision = await repo.nextRevision(manager, projectId);
    const now = new Date();
    const counts = await repo.outcomeCounts(manager, projectId, componentName, now);
    const update: LearningModelUpdated = {
      projectId,
      componentName,
      project: historyStats(counts.project),
      component: historyStats(counts.component),
      revision,
      cause,
      updatedAt: now.toISOString(),
    };
    if (!(await repo.recordPublishedModel(manager, update))) return;
    emit({ name: 'learning.model.updated', correlationId: cause.requestId, data: update });
  }
}
