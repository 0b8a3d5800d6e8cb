import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { runService } from '@agf/platform';
import { SlaSchema1732500000301 } from './migrations/1732500000301-sla-schema';
import { SlaModule } from './sla.module';

void runService({
  name: 'sla',
  module: SlaModule,
  consumerBatchSize: 16,
  consumerLingerMs: 50,
  migrations: [messagingTablesMigration('sla'), SlaSchema1732500000301],
});
