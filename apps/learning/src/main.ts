import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { runService } from '@agf/platform';
import { LearningModule } from './learning.module';
import { LearningSchema1732500000401 } from './migrations/1732500000401-learning-schema';

void runService({
  name: 'learning',
  module: LearningModule,
  consumerBatchSize: 16,
  migrations: [messagingTablesMigration('learning'), LearningSchema1732500000401],
});
