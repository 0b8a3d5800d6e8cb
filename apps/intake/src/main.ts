import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import { runService, type ServiceRuntime } from '@agf/platform';
import { bootstrapAdminKey } from './api-keys/bootstrap-admin-key';
import { IntakeModule } from './intake.module';
import { INTAKE_MIGRATIONS } from './migrations';
import { serveOpenApi } from './openapi';

void runService({
  name: 'intake',
  module: IntakeModule,
  consumerBatchSize: 16,
  consumerLingerMs: 50,
  migrations: INTAKE_MIGRATIONS,
  configureHttp: (app) => serveOpenApi(app),
  afterStart: bootstrap,
  // Reviewers see the requests of experts added through coe's registry API without a restart.
  expertRegistry: true,
});

/** A fresh installation's admin key (AGF_BOOTSTRAP_KEY_FILE), usable by the time intake reports ready. */
async function bootstrap(runtime: ServiceRuntime): Promise<void> {
  const keyFile = runtime.infra.AGF_BOOTSTRAP_KEY_FILE;
  if (!keyFile) return;
  const keyHash = await bootstrapAdminKey(runtime.publisher, keyFile);
  if (!keyHash || runtime.infra.AGF_OUTBOX_RELAY !== 'on') return;
  for (let waited = 0; waited < 10_000 && !runtime.keys.find(keyHash); waited += 50) await sleep(50);
}
