import { Module } from '@nestjs/common';
import { SlaMetrics } from './sla-metrics';
import { TimerScheduler } from './timer-scheduler';
import { TimersHttpController } from './timers.http.controller';
import { TimersMessageController } from './timers.message.controller';

@Module({
  controllers: [TimersMessageController, TimersHttpController],
  providers: [SlaMetrics, TimerScheduler],
})
export class SlaModule {}
