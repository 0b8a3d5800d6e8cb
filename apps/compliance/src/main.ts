import 'reflect-metadata';
import { messagingTablesMigration } from '@agf/messaging';
import { BOOKKEEPING_CONSUMER, runService } from '@agf/platform';
import { ComplianceModule } from './compliance.module';
import { ComplianceSchema1732500000501 } from './migrations/1732500000501-compliance-schema';
import { ComplianceReviewerIdentity1732500000502 } from './migrations/1732500000502-compliance-reviewer-identity';
import { ComplianceAppendOnlyAudit1732500000510 } from './migrations/1732500000510-append-only-audit';
import { ComplianceEmergency1732500000520 } from './migrations/1732500000520-compliance-emergency';
import { CompliancePersonalData1732500001100 } from './migrations/1732500001100-compliance-personal-data';

void runService({
  name: 'compliance',
  module: ComplianceModule,
  ...BOOKKEEPING_CONSUMER,
  // The audit chain: its own role may read it and append to it, never change it (a trigger refuses that too).
  appendOnlyTables: ['audit_entries'],
  migrations: [messagingTablesMigration('compliance'), ComplianceSchema1732500000501, ComplianceReviewerIdentity1732500000502, ComplianceAppendOnlyAudit1732500000510, ComplianceEmergency1732500000520, CompliancePersonalData1732500001100],
});
