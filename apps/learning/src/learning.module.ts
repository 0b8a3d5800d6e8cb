import { Module } from '@nestjs/common';
import { HistoryImportHttpController } from './history-import.http.controller';
import { LearningHttpController } from './learning.http.controller';
import { LearningMessageController } from './learning.message.controller';
import { LearningMetrics } from './learning-metrics';
import { ModelTrainer } from './model-trainer';

@Module({
  controllers: [LearningMessageController, LearningHttpController, HistoryImportHttpController],
  providers: [LearningMetrics, ModelTrainer],
})
export class LearningModule {}
