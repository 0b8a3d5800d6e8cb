import { Module } from '@nestjs/common';
import { CallbackDispatcher } from './callback-dispatcher';
import { GatesMessageController } from './gates.message.controller';
import { INTEGRATIONS_CONFIG, loadIntegrationsConfig } from './integrations-config';
import { IntegrationsMetrics } from './integrations-metrics';
import { ProjectModesMessageController } from './project-modes.message.controller';
import { ShadowReportHttpController } from './shadow-report.http.controller';
import { WebhooksHttpController } from './webhooks.http.controller';

@Module({
  controllers: [WebhooksHttpController, GatesMessageController, ShadowReportHttpController, ProjectModesMessageController],
  providers: [{ provide: INTEGRATIONS_CONFIG, useFactory: loadIntegrationsConfig }, IntegrationsMetrics, CallbackDispatcher],
})
export class IntegrationsModule {}
