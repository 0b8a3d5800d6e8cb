import { Body, Controller, Get, Inject, Param, Put, Req } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { ProjectId, ProjectModeInput, type ProjectModeView } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { CurrentPrincipal, parseJsonBody, POLICY, ProblemError, Roles } from '@agf/platform';
import type { GovernancePolicy } from '@agf/policy';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { effectiveProjectMode, lockProjectMode, storeProjectMode } from './project-modes';

/**
 * Shadow mode without a redeploy: an admin switches a project between `enforce` and `shadow`. The change is
 * announced with `registry.project.mode_changed` (carrying the verified actor) in the transaction that made it,
 * so it reaches the audit trail; CoE marks the project's decisions from the next one on.
 */
@Controller('v1/projects')
export class ProjectModesHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
  ) {}

  @Get(':projectId/mode')
  @Roles('admin', 'auditor')
  async get(@Param('projectId') projectId: string): Promise<ProjectModeView> {
    return effectiveProjectMode(this.dataSource, this.policy, projectIdOf(projectId));
  }

  @Put(':projectId/mode')
  @Roles('admin')
  async put(@Param('projectId') id: string, @Body() body: unknown, @Req() req: Request, @CurrentPrincipal() principal: Principal): Promise<ProjectModeView> {
    const projectId = projectIdOf(id);
    const { mode } = parseJsonBody(req, body, ProjectModeInput);
    const actor = actorOf(principal, 'http');
    return this.publisher.transaction(async (tx) => {
      await lockProjectMode(tx.manager, projectId);
      const before = await effectiveProjectMode(tx.manager, this.policy, projectId);
      // Setting the mode it already has changes nothing and announces nothing.
      if (before.source === 'api' && before.mode === mode) return before;
      const changedAt = new Date().toISOString();
      await storeProjectMode(tx.manager, projectId, mode, actor, changedAt);
      tx.emit({
        name: 'registry.project.mode_changed',
        correlationId: projectId,
        subjectToken: projectId,
        data: { projectId, mode, previousMode: before.mode, actor, changedAt },
      });
      return { projectId, mode, source: 'api', changedAt, changedBy: actor };
    });
  }
}

function projectIdOf(id: string): string {
  const parsed = ProjectId.safeParse(id);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the project id is invalid', [{ path: 'projectId', message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}
