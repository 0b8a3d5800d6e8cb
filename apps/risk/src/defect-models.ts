import { Controller, Injectable, Logger } from '@nestjs/common';
import type { CloudEvent, DeploymentRequest } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { isRiskModel, type RiskModel } from '@agf/model-domain';
import type { AvailableModel } from '@agf/risk-domain';
import type { EntityManager } from 'typeorm';
import type { ModelSequence } from './risk.repository';

type Queryable = Pick<EntityManager, 'query'>;

export const CROSS_PROJECT_SCOPE = 'cross-project';
/** Parsed models held in memory at most; the rest are read from Postgres when a request needs them. */
export const CACHED_MODELS = Number(process.env['AGF_RISK_MODEL_CACHE'] ?? 32);

/**
 * The defect models risk scores with: the newest published per scope, stored in `risk.defect_models`, and a
 * small least-recently-used cache of parsed ones. Each batch reads the current sequence of the scopes it needs
 * (with the histories, in one statement), so every replica uses the newest model even when another consumed
 * its event; only a model newer than the cached one is read in full.
 */
@Injectable()
export class DefectModelStore {
  private readonly cache = new Map<string, { sequence: number; model: RiskModel }>();

  /** The scopes whose models can score these requests: their projects' and the cross-project one. */
  scopesFor(requests: ReadonlyArray<Pick<DeploymentRequest, 'projectId'>>): string[] {
    return [...new Set([...requests.map((r) => r.projectId), CROSS_PROJECT_SCOPE])];
  }

  /**
   * For each request, its project's model, else the cross-project model, else none. `current`: the sequences
   * stored for `scopesFor(requests)` (`riskRepository.histories` reads them).
   */
  async modelsFor(m: Queryable, requests: ReadonlyArray<Pick<DeploymentRequest, 'projectId'>>, current: readonly ModelSequence[]): Promise<Map<string, AvailableModel>> {
    const stale = current.filter((c) => this.cache.get(c.scope)?.sequence !== Number(c.sequence)).map((c) => c.scope);
    if (stale.length) {
      const rows: Array<{ scope: string; sequence: string; model: unknown }> = await m.query(
        `SELECT "scope", "sequence"::text, "model" FROM "risk"."defect_models" WHERE "scope" = ANY($1::text[])`,
        [stale],
      );
      for (const row of rows) if (isRiskModel(row.model)) this.remember(row.scope, { sequence: Number(row.sequence), model: row.model });
    }
    const byScope = new Map<string, RiskModel>();
    for (const c of current) {
      const entry = this.cache.get(c.scope);
      if (!entry) continue;
      this.cache.delete(c.scope); // re-insert: most recently used last
      this.cache.set(c.scope, entry);
      byScope.set(c.scope, entry.model);
    }
    const answer = new Map<string, AvailableModel>();
    for (const { projectId } of requests) {
      const own = byScope.get(projectId);
      const cross = byScope.get(CROSS_PROJECT_SCOPE);
      if (own) answer.set(projectId, { model: own, scope: 'project' });
      else if (cross) answer.set(projectId, { model: cross, scope: 'cross-project' });
    }
    return answer;
  }

  private remember(scope: string, entry: { sequence: number; model: RiskModel }): void {
    this.cache.delete(scope);
    this.cache.set(scope, entry);
    while (this.cache.size > CACHED_MODELS) this.cache.delete(this.cache.keys().next().value!);
  }
}

/** Stores each published model unless a newer one of its scope is already here (events may arrive out of order). */
@Controller()
export class DefectModelMessageController {
  private readonly logger = new Logger(DefectModelMessageController.name);

  @OnMessage('learning.risk-model.published')
  async modelPublished(event: CloudEvent<'learning.risk-model.published'>, ctx: MessageContext): Promise<void> {
    const published = event.data;
    if (!isRiskModel(published.model)) {
      this.logger.warn(`model ${published.version} ignored: not a model this service can use`);
      return;
    }
    await ctx.manager.query(
      `INSERT INTO "risk"."defect_models" ("scope", "sequence", "version", "model", "published_at") VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ("scope") DO UPDATE SET "sequence" = EXCLUDED."sequence", "version" = EXCLUDED."version", "model" = EXCLUDED."model", "published_at" = EXCLUDED."published_at"
       WHERE "risk"."defect_models"."sequence" < EXCLUDED."sequence"`,
      [published.projectId ?? CROSS_PROJECT_SCOPE, published.sequence, published.version, JSON.stringify(published.model), published.publishedAt],
    );
  }
}
