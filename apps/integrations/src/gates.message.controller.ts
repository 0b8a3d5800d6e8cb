import { Controller, Inject } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { requestLink, verdictFor } from '@agf/integrations-domain';
import { MessageContext, OnMessage } from '@agf/messaging';
import { type IntegrationsConfig, INTEGRATIONS_CONFIG } from './integrations-config';
import { IntegrationsMetrics } from './integrations-metrics';
import { gatesRepository as repo, type StoredDecision } from './gates.repository';

/**
 * Joins the two halves of a gate: intake's `deployment.requested` names the gate it came from (metadata
 * `gateKey`), CoE's `decision.made` gives the answer. Whichever arrives second queues the one callback.
 * `decision.escalated` is not consumed: an escalation keeps the deployment waiting.
 */
@Controller()
export class GatesMessageController {
  constructor(
    @Inject(INTEGRATIONS_CONFIG) private readonly config: IntegrationsConfig,
    private readonly metrics: IntegrationsMetrics,
  ) {}

  @OnMessage('deployment.requested')
  async deploymentRequested(event: CloudEvent<'deployment.requested'>, ctx: MessageContext): Promise<void> {
    const gateKey = event.data.metadata['gateKey'];
    const integration = event.data.metadata['integration'];
    if (typeof gateKey !== 'string' || (integration !== 'github' && integration !== 'gitlab')) return;
    await ctx.lockRequest(event.data.requestId);
    if (!(await repo.linkRequest(ctx.manager, gateKey, event.data.requestId))) return;
    const decision = await repo.decisionOf(ctx.manager, event.data.requestId);
    if (decision) await this.answer(ctx, gateKey, decision);
  }

  @OnMessage('decision.made')
  async decisionMade(event: CloudEvent<'decision.made'>, ctx: MessageContext): Promise<void> {
    const d = event.data;
    await ctx.lockRequest(d.requestId);
    const decision: StoredDecision = {
      requestId: d.requestId,
      projectId: d.projectId,
      outcome: d.outcome,
      approved: d.approved,
      shadow: d.shadow === true,
      decisionRationale: d.decisionRationale,
      conditions: d.conditions,
      decidedAt: d.decidedAt,
    };
    const stored = await repo.insertDecision(ctx.manager, decision);
    if (!stored) return;
    if (decision.shadow && !decision.approved && decision.outcome !== 'ESCALATE_TO_HUMAN') ctx.onCommitted(() => this.metrics.shadowWouldBlock.inc({ project: d.projectId }));
    const gate = await repo.gateOfRequest(ctx.manager, d.requestId);
    if (gate) await this.answer(ctx, gate.gateKey, decision);
  }

  private async answer(ctx: MessageContext, gateKey: string, decision: StoredDecision): Promise<void> {
    const verdict = verdictFor({ ...decision, outcome: decision.outcome as StoredDecisionOutcome }, requestLink(this.config.publicUrl, decision.requestId));
    if (verdict.kind === 'waiting') return;
    await repo.enqueueCallback(ctx.manager, gateKey, decision.requestId, verdict.approved, verdict.comment);
  }
}

type StoredDecisionOutcome = CloudEvent<'decision.made'>['data']['outcome'];
