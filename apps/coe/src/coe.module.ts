import { Module } from '@nestjs/common';
import { CoeMessageController } from './coe.message.controller';
import { GovernanceMetrics } from './governance-metrics';
import { ProjectModesHttpController } from './projects/project-modes.http.controller';
import { ExpertHandOver } from './registry/expert-hand-over';
import { ExpertRegistry } from './registry/expert-registry';
import { ExpertsHttpController } from './registry/experts.http.controller';
import { ReviewWorkflow } from './review-workflow';

@Module({
  controllers: [CoeMessageController, ExpertsHttpController, ProjectModesHttpController],
  providers: [ReviewWorkflow, ExpertRegistry, ExpertHandOver, GovernanceMetrics],
})
export class CoeModule {}
