import 'reflect-metadata';
import { runService } from '@agf/platform';
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
});
