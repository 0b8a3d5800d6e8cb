import { Controller, Get, Inject, Param } from '@nestjs/common';
import { PROJECT_ID_PATTERN } from '@agf/contracts';
import { POLICY, ProblemError, Roles } from '@agf/platform';
import { type GovernancePolicy, projectMode } from '@agf/policy';
import { DataSource } from 'typeorm';
import { projectModeSetByApi } from './project-modes.message.controller';
import { gatesRepository as repo, type ShadowCounts } from './gates.repository';

export interface ShadowReport extends ShadowCounts {
  projectId: string;
  mode: 'enforce' | 'shadow';
}

/** How a project in shadow mode is doing: how many of its deployments AGF would have blocked or escalated. */
@Controller('v1/projects')
@Roles('admin', 'auditor')
export class ShadowReportHttpController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(POLICY) private readonly policy: GovernancePolicy,
  ) {}

  @Get(':projectId/shadow-report')
  async report(@Param('projectId') projectId: string): Promise<ShadowReport> {
    if (!PROJECT_ID_PATTERN.test(projectId)) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'projectId must match [A-Za-z0-9_-]{1,128}', [{ path: 'projectId', message: 'invalid project id' }]);
    }
    const counts = await repo.shadowCounts(this.dataSource, projectId);
    const mode = (await projectModeSetByApi(this.dataSource, projectId)) ?? projectMode(this.policy.projects, projectId);
    return { projectId, mode, ...counts };
  }
}
