import 'reflect-metadata';
import { runService } from '@agf/platform';
import { CoeModule } from './coe.module';
import { COE_MIGRATIONS } from './migrations';

void runService({
  name: 'coe',
  consumerBatchSize: 16,
  consumerLingerMs: 10,
  module: CoeModule,
  migrations: COE_MIGRATIONS,
});
