import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { runService } from '@agf/platform';
import { CoeModule } from './coe.module';
import { CoeSchema1732500000101 } from './migrations/1732500000101-coe-schema';
import { ExpertRegistry1732500000120 } from './migrations/1732500000120-expert-registry';
import { CoeEscalation1732500000130 } from './migrations/1732500000130-coe-escalation';
import { CoeProjectModes1732500000140 } from './migrations/1732500000140-project-modes';

void runService({
  name: 'coe',
  consumerBatchSize: 16,
  consumerLingerMs: 10,
  module: CoeModule,
  migrations: [messagingTablesMigration('coe'), CoeSchema1732500000101, ExpertRegistry1732500000120, CoeEscalation1732500000130, CoeProjectModes1732500000140],
});
