import { Module } from '@nestjs/common';
import { GatesHttpController } from './gates.http.controller';
import { GuardLoop } from './guard-loop';
import { ReplicaMessageController } from './replica.message.controller';
import { loadRolloutConfig, ROLLOUT_CONFIG } from './rollout-config';
import { RolloutGuard } from './rollout-guard';
import { RolloutMetrics } from './rollout-metrics';
import { RolloutsHttpController } from './rollouts.http.controller';

@Module({
  controllers: [RolloutsHttpController, GatesHttpController, ReplicaMessageController],
  providers: [{ provide: ROLLOUT_CONFIG, useFactory: loadRolloutConfig }, RolloutMetrics, RolloutGuard, GuardLoop],
})
export class RolloutModule {}
