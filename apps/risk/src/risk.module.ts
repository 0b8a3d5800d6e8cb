import { Module } from '@nestjs/common';
import { AssessmentsHttpController } from './assessments.http.controller';
import { RiskMessageController } from './risk.message.controller';
import { RiskMetrics } from './risk-metrics';

@Module({
  controllers: [RiskMessageController, AssessmentsHttpController],
  providers: [RiskMetrics],
})
export class RiskModule {}
