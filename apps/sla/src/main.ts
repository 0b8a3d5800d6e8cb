import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { SlaSchema1732500000301 } from './migrations/1732500000301-sla-schema';
import { SlaKeptAfterDecision1732500000320 } from './migrations/1732500000320-sla-kept-after-decision';
import { SlaModule } from './sla.module';

void runService({
  name: 'sla',
  module: SlaModule,
  ...BOOKKEEPING_CONSUMER,
  migrations: [messagingTablesMigration('sla'), SlaSchema1732500000301, SlaKeptAfterDecision1732500000320],
});
