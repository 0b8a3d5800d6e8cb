import 'reflect-metadata';
import { messagingMigrations } from '@agf/messaging';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { SlaSchema1732500000301 } from './migrations/1732500000301-sla-schema';
import { SlaKeptAfterDecision1732500000320 } from './migrations/1732500000320-sla-kept-after-decision';
import { SlaWithoutRequestClosures1732500000330 } from './migrations/1732500000330-sla-without-request-closures';
import { SlaModule } from './sla.module';

void runService({
  name: 'sla',
  module: SlaModule,
  ...BOOKKEEPING_CONSUMER,
  // Not niced like the other bookkeeping services: its timers escalate unanswered reviews on time even when
  // the decision path keeps the host busy (and it costs a twentieth of a core at 100 decisions/s).
  cpuNiceness: 0,
  migrations: [...messagingMigrations('sla'), SlaSchema1732500000301, SlaKeptAfterDecision1732500000320, SlaWithoutRequestClosures1732500000330],
});
