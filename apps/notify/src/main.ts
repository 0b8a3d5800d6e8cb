import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { messagingMigrations } from '@agf/messaging';
import { BOOKKEEPING_CONSUMER, EXIT_CONFIG_ERROR, loadInfraConfig, runService } from '@agf/platform';
import { loadPolicyFile } from '@agf/policy';
import { NotifySchema1732500000601 } from './migrations/1732500000601-notify-schema';
import { NotifySubscriptionsChanged1732900000601 } from './migrations/1732900000601-subscriptions-changed';
import { loadNotifyConfig } from './notify-config';
import { NotifyModule } from './notify.module';

// The notifications section's secrets come from the environment: a missing one stops the start, naming its key.
try {
  loadNotifyConfig(loadPolicyFile(loadInfraConfig('notify').AGF_CONFIG));
} catch (error) {
  new Logger('notify').error((error as Error).message);
  process.exit(EXIT_CONFIG_ERROR);
}

void runService({
  name: 'notify',
  module: NotifyModule,
  // Addresses of experts added or changed through coe's registry API, without a restart.
  expertRegistry: true,
  ...BOOKKEEPING_CONSUMER,
  migrations: [...messagingMigrations('notify'), NotifySchema1732500000601, NotifySubscriptionsChanged1732900000601],
});
