import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { messagingMigrations } from '@agf/messaging';
import { EXIT_CONFIG_ERROR, runService } from '@agf/platform';
import { loadIntegrationsConfig } from './integrations-config';
import { IntegrationsSchema1732500000701 } from './migrations/1732500000701-integrations-schema';
import { IntegrationsProjectModes1732500000702 } from './migrations/1732500000702-project-modes';
import { IntegrationsRetentionIndexes1732800000701 } from './migrations/1732800000701-integrations-retention-indexes';
import { IntegrationsModule } from './integrations.module';
import { GITHUB_WEBHOOK_PATH, GITLAB_WEBHOOK_PATH } from './webhooks.http.controller';

// Checked before anything starts, so a bad setting stops the service with the configuration exit code.
try {
  const config = loadIntegrationsConfig();
  const logger = new Logger('integrations');
  if (!config.github.webhookSecret) logger.warn('AGF_GITHUB_WEBHOOK_SECRET is not set: GitHub webhooks are refused');
  if (!config.gitlab.webhookToken) logger.warn('AGF_GITLAB_WEBHOOK_TOKEN is not set: GitLab webhooks are refused');
  if (!config.submitAuthorization) logger.warn('AGF_INTEGRATIONS_TOKEN is not set: verified webhooks cannot be submitted (503)');
} catch (error) {
  new Logger('integrations').error((error as Error).message);
  process.exit(EXIT_CONFIG_ERROR);
}

void runService({
  name: 'integrations',
  module: IntegrationsModule,
  // Nothing waits on this service's consumers but a pipeline's callback: short batches.
  consumerLingerMs: 5,
  selfAuthenticatedPaths: [GITHUB_WEBHOOK_PATH, GITLAB_WEBHOOK_PATH],
  migrations: [...messagingMigrations('integrations'), IntegrationsSchema1732500000701, IntegrationsProjectModes1732500000702, IntegrationsRetentionIndexes1732800000701],
});
