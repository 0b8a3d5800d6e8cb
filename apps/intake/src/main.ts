import 'reflect-metadata';
import { runService } from '@agf/platform';
import { messagingTablesMigration } from '@agf/messaging';
import { IntakeModule } from './intake.module';
import { IntakeSchema1732500000001 } from './migrations/1732500000001-intake-schema';
import { serveOpenApi } from './openapi';

void runService({
  name: 'intake',
  module: IntakeModule,
  consumerBatchSize: 16,
  consumerLingerMs: 50,
  migrations: [messagingTablesMigration('intake'), IntakeSchema1732500000001],
  configureHttp: (app) => serveOpenApi(app),
});
