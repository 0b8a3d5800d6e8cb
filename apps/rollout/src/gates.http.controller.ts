import { timingSafeEqual, createHash } from 'node:crypto';
import { Controller, Get, HttpCode, Inject, Post, Query, Req, Res } from '@nestjs/common';
import { canReadProject, type Principal } from '@agf/access-domain';
import { PROJECT_ID_PATTERN, type RolloutVerdict } from '@agf/contracts';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles, SelfAuthenticated } from '@agf/platform';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { type RolloutRow, rolloutRepository as repo } from './rollout.repository';
import { ROLLOUT_CONFIG, type RolloutConfig } from './rollout-config';

export const FLAGGER_CONFIRM_PROMOTION_PATH = '/v1/rollout-gates/flagger/confirm-promotion';
export const FLAGGER_ROLLBACK_PATH = '/v1/rollout-gates/flagger/rollback';
export const ARGO_VERDICT_PATH = '/v1/rollout-gates/argo/verdict';

/** What Flagger posts to a webhook (docs.flagger.app/usage/webhooks): the canary, its phase, and the webhook's metadata. */
const FlaggerHook = z.object({
  name: z.string().min(1).max(253),
  namespace: z.string().max(253).optional(),
  phase: z.string().max(64).optional(),
  checksum: z.string().max(256).optional(),
  metadata: z.record(z.string(), z.string().max(1024)).optional(),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The verdict a gate gives: a requested (or done) rollback is `failing`, a paused rollout `inconclusive`, no evaluation yet `inconclusive`. */
export function gateVerdict(rollout: RolloutRow): RolloutVerdict {
  if (rollout.status === 'rollback-requested' || rollout.status === 'aborted' || rollout.status === 'rolled-back') return 'failing';
  if (rollout.status === 'paused') return 'inconclusive';
  return rollout.verdict ?? 'inconclusive';
}

/**
 * AGF as a gate of progressive-delivery tools. Flagger's webhooks carry no credential of their own: they present
 * `AGF_ROLLOUT_WEBHOOK_TOKEN` in `metadata.token` (or as a bearer header); a wrong or missing token is refused
 * (401, recorded). Argo Rollouts' web metric provider sends headers, so it uses an ordinary AGF API key.
 *
 * Flagger's answers are its documented ones: `confirm-promotion` 200 lets the canary be promoted, 403 holds it;
 * `rollback` 200 makes Flagger roll the canary back, 403 lets the analysis go on.
 */
@Controller()
export class GatesHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refusals: AccessRefusals,
    @Inject(ROLLOUT_CONFIG) private readonly config: RolloutConfig,
  ) {}

  @Post(FLAGGER_CONFIRM_PROMOTION_PATH.slice(1))
  @SelfAuthenticated()
  @HttpCode(200)
  async confirmPromotion(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const rollout = await this.flaggerRollout(req);
    const verdict = gateVerdict(rollout);
    const promote = verdict === 'healthy' && rollout.status === 'in-progress';
    if (!promote) res.status(403);
    return this.answer(rollout, verdict, promote ? 'promote' : 'hold');
  }

  @Post(FLAGGER_ROLLBACK_PATH.slice(1))
  @SelfAuthenticated()
  @HttpCode(200)
  async rollback(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const rollout = await this.flaggerRollout(req);
    const verdict = gateVerdict(rollout);
    const rollBack = verdict === 'failing';
    if (!rollBack) res.status(403);
    return this.answer(rollout, verdict, rollBack ? 'roll-back' : 'continue');
  }

  /**
   * Argo Rollouts' web metric: `successCondition: result.verdict == "healthy"`, `failureCondition:
   * result.verdict == "failing"`; anything else is inconclusive for Argo too.
   */
  @Get(ARGO_VERDICT_PATH.slice(1))
  @Roles('submitter', 'auditor')
  async argoVerdict(@Req() req: Request, @CurrentPrincipal() principal: Principal, @Query('requestId') requestId?: string, @Query('projectId') projectId?: string, @Query('component') component?: string) {
    const rollout = await this.find(requestId, projectId, component);
    if (!rollout) throw new ProblemError(404, 'not-found', 'Not Found', 'no rollout matches');
    if (!canReadProject(principal, rollout.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', 'no rollout matches');
    return this.answer(rollout, gateVerdict(rollout), undefined);
  }

  private answer(rollout: RolloutRow, verdict: RolloutVerdict, action: string | undefined) {
    return {
      requestId: rollout.requestId,
      projectId: rollout.projectId,
      componentName: rollout.componentName,
      status: rollout.status,
      verdict,
      healthy: verdict === 'healthy',
      failing: verdict === 'failing',
      liveScore: rollout.liveScore,
      revision: rollout.revision,
      ...(action ? { action } : {}),
      evaluatedAt: rollout.revision ? new Date(rollout.updatedAt).toISOString() : null,
    };
  }

  private async flaggerRollout(req: Request): Promise<RolloutRow> {
    const parsed = FlaggerHook.safeParse(req.body);
    const token = this.config.webhookToken;
    const presented = bearer(req.headers.authorization) ?? (parsed.success ? parsed.data.metadata?.['token'] : undefined);
    if (!token || !presented || !sameSecret(presented, token)) {
      throw this.refusals.refuseHttp(req, 'unauthenticated', !token ? 'the Flagger gate is not configured (AGF_ROLLOUT_WEBHOOK_TOKEN)' : 'missing or wrong webhook token');
    }
    if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'not a Flagger webhook payload', parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
    const hook = parsed.data;
    const rollout = await this.find(hook.metadata?.['requestId'], hook.metadata?.['projectId'], hook.metadata?.['component'] ?? hook.name);
    if (!rollout) throw new ProblemError(404, 'not-found', 'Not Found', `no rollout of ${hook.metadata?.['component'] ?? hook.name} is known`);
    return rollout;
  }

  private async find(requestId: string | undefined, projectId: string | undefined, component: string | undefined): Promise<RolloutRow | undefined> {
    if (requestId !== undefined) {
      if (!UUID.test(requestId)) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'requestId must be a UUID', [{ path: 'requestId', message: 'expected a UUID' }]);
      return repo.rollout(this.dataSource.manager, requestId);
    }
    if (projectId !== undefined && !PROJECT_ID_PATTERN.test(projectId)) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'projectId must match [A-Za-z0-9_-]{1,128}', [{ path: 'projectId', message: 'invalid project id' }]);
    }
    if (!component || component.length > 256) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'name the rollout: requestId, or component (and projectId)', [{ path: 'component', message: 'required without requestId' }]);
    return repo.activeRolloutOf(this.dataSource.manager, projectId, component);
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match?.[1]?.trim();
}

/** Constant-time comparison (of digests, so the lengths match). */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
