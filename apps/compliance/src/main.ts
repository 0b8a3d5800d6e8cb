import 'reflect-metadata';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { ComplianceModule } from './compliance.module';
import { COMPLIANCE_MIGRATIONS } from './migrations';

void runService({
  name: 'compliance',
  module: ComplianceModule,
  ...BOOKKEEPING_CONSUMER,
  // The audit chain: its own role may read it and append to it, never change it (a trigger refuses that too).
  appendOnlyTables: ['audit_entries'],
  migrations: COMPLIANCE_MIGRATIONS,
});
