import { messagingMigrations } from '@agf/messaging';
import { LearningSchema1732500000401 } from './1732500000401-learning-schema';
import { LearningOutcomeIndex1732500000402 } from './1732500000402-learning-outcome-index';
import { LearningPublishedModels1732500000403 } from './1732500000403-learning-published-models';
import { LearningChangeHistory1732500000901 } from './1732500000901-learning-change-history';
import { LearningOutcomeCountsCoveringIndex1732600000401 } from './1732600000401-outcome-counts-covering-index';
import { LearningOutcomeTotals1732700000401 } from './1732700000401-learning-outcome-totals';
import { LearningChangeHistoryChangedIndex1732800000401 } from './1732800000401-change-history-changed-index';
import { LearningPatternsFillfactor1732900000401 } from './1732900000401-patterns-fillfactor';
import { LearningPatternsRecentByProject1733000000401 } from './1733000000401-patterns-recent-by-project';

/** Learning's schema, oldest migration first (the service's and its tests' one list). */
export const LEARNING_MIGRATIONS = [
  ...messagingMigrations('learning'),
  LearningSchema1732500000401,
  LearningOutcomeIndex1732500000402,
  LearningPublishedModels1732500000403,
  LearningChangeHistory1732500000901,
  LearningOutcomeCountsCoveringIndex1732600000401,
  LearningOutcomeTotals1732700000401,
  LearningChangeHistoryChangedIndex1732800000401,
  LearningPatternsFillfactor1732900000401,
  LearningPatternsRecentByProject1733000000401,
];
