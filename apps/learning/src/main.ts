import 'reflect-metadata';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { LearningModule } from './learning.module';
import { LEARNING_MIGRATIONS } from './migrations';

void runService({
  name: 'learning',
  module: LearningModule,
  ...BOOKKEEPING_CONSUMER,
  migrations: LEARNING_MIGRATIONS,
});
