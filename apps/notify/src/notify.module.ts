import { Module } from '@nestjs/common';
import { GovernancePolicy } from '@agf/policy';
import { ExpertRegistryReplica, POLICY } from '@agf/platform';
import { ChannelSenders } from './channel-senders';
import { Dispatcher } from './dispatcher';
import { loadNotifyConfig, NOTIFY_CONFIG, RECIPIENT_DIRECTORY, RegistryRecipientDirectory } from './notify-config';
import { NotifyMetrics } from './notify-metrics';
import { DeliveriesHttpController, SubscriptionsHttpController } from './notifications.http.controller';
import { NotificationsMessageController } from './notifications.message.controller';
import { SubscribedProjects } from './subscribed-projects';

@Module({
  controllers: [NotificationsMessageController, DeliveriesHttpController, SubscriptionsHttpController],
  providers: [
    // main.ts checked the configuration before the service started; this cannot fail any more.
    { provide: NOTIFY_CONFIG, useFactory: (policy: GovernancePolicy) => loadNotifyConfig(policy), inject: [POLICY] },
    {
      provide: RECIPIENT_DIRECTORY,
      useFactory: (policy: GovernancePolicy, registry: ExpertRegistryReplica) => new RegistryRecipientDirectory(policy, registry),
      inject: [POLICY, ExpertRegistryReplica],
    },
    NotifyMetrics,
    ChannelSenders,
    Dispatcher,
    SubscribedProjects,
  ],
})
export class NotifyModule {}
