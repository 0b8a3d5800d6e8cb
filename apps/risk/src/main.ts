import 'reflect-metadata';
import { messagingMigrations } from '@agf/messaging';
import { runService } from '@agf/platform';
import { RiskSchema1732500000201 } from './migrations/1732500000201-risk-schema';
import { RiskDefectModels1732500000902 } from './migrations/1732500000902-risk-defect-models';
import { RiskModule } from './risk.module';

void runService({
  name: 'risk',
  consumerBatchSize: 16,
  consumerLingerMs: 10,
  module: RiskModule,
  migrations: [...messagingMigrations('risk'), RiskSchema1732500000201, RiskDefectModels1732500000902],
});
