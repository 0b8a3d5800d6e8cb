import { Module } from '@nestjs/common';
import { LearningHttpController } from './learning.http.controller';
import { LearningMessageController } from './learning.message.controller';
import { LearningMetrics } from './learning-metrics';

@Module({
  controllers: [LearningMessageController, LearningHttpController],
  providers: [LearningMetrics],
})
export class LearningModule {}
