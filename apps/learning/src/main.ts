import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { LearningModule } from './learning.module';
import { LearningSchema1732500000401 } from './migrations/1732500000401-learning-schema';
import { LearningOutcomeIndex1732500000402 } from './migrations/1732500000402-learning-outcome-index';
import { LearningPublishedModels1732500000403 } from './migrations/1732500000403-learning-published-models';
import { LearningChangeHistory1732500000901 } from './migrations/1732500000901-learning-change-history';
import { LearningOutcomeCountsCoveringIndex1732600000401 } from './migrations/1732600000401-outcome-counts-covering-index';

void runService({
  name: 'learning',
  module: LearningModule,
  ...BOOKKEEPING_CONSUMER,
  migrations: [messagingTablesMigration('learning'), LearningSchema1732500000401, LearningOutcomeIndex1732500000402, LearningPublishedModels1732500000403, LearningChangeHistory1732500000901, LearningOutcomeCountsCoveringIndex1732600000401],
});
