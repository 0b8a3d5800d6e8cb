import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { messagingMigrations } from '@agf/messaging';
import { EXIT_CONFIG_ERROR, runService } from '@agf/platform';
import { FLAGGER_CONFIRM_PROMOTION_PATH, FLAGGER_ROLLBACK_PATH } from './gates.http.controller';
import { RolloutSchema1732500001000 } from './migrations/1732500001000-rollout-schema';
import { loadRolloutConfig } from './rollout-config';
import { RolloutModule } from './rollout.module';

// Checked before anything starts, so a bad setting stops the service with the configuration exit code.
try {
  const config = loadRolloutConfig();
  if (!config.webhookToken) new Logger('rollout').warn('AGF_ROLLOUT_WEBHOOK_TOKEN is not set: the Flagger gate is refused (401)');
} catch (error) {
  new Logger('rollout').error((error as Error).message);
  process.exit(EXIT_CONFIG_ERROR);
}

void runService({
  name: 'rollout',
  module: RolloutModule,
  // A failing signal must become a rollback within 60 s: short batches.
  consumerLingerMs: 5,
  selfAuthenticatedPaths: [FLAGGER_CONFIRM_PROMOTION_PATH, FLAGGER_ROLLBACK_PATH],
  migrations: [...messagingMigrations('rollout'), RolloutSchema1732500001000],
});
