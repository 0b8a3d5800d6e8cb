import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { runService } from '@agf/platform';
import { ComplianceModule } from './compliance.module';
import { ComplianceSchema1732500000501 } from './migrations/1732500000501-compliance-schema';

void runService({
  name: 'compliance',
  module: ComplianceModule,
  consumerBatchSize: 16,
  consumerLingerMs: 50,
  migrations: [messagingTablesMigration('compliance'), ComplianceSchema1732500000501],
});
