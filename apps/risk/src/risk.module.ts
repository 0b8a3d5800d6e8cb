import { Module } from '@nestjs/common';
import { AssessmentsHttpController } from './assessments.http.controller';
import { DefectModelMessageController, DefectModelStore } from './defect-models';
import { RiskMessageController } from './risk.message.controller';
import { RiskMetrics } from './risk-metrics';

@Module({
  controllers: [RiskMessageController, AssessmentsHttpController, DefectModelMessageController],
  providers: [RiskMetrics, DefectModelStore],
})
export class RiskModule {}
