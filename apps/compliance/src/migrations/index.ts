import { messagingMigrations } from '@agf/messaging';
import { ComplianceSchema1732500000501 } from './1732500000501-compliance-schema';
import { ComplianceReviewerIdentity1732500000502 } from './1732500000502-compliance-reviewer-identity';
import { ComplianceAppendOnlyAudit1732500000510 } from './1732500000510-append-only-audit';
import { ComplianceEmergency1732500000520 } from './1732500000520-compliance-emergency';
import { CompliancePersonalData1732500001100 } from './1732500001100-compliance-personal-data';
import { ComplianceRequestsFillfactor1732900000501 } from './1732900000501-requests-fillfactor';
import { CompliancePersonalValuesIndexes1732900000502 } from './1732900000502-personal-values-indexes';

/** Compliance's schema, oldest migration first (the service's and its tests' one list). */
export const COMPLIANCE_MIGRATIONS = [
  ...messagingMigrations('compliance'),
  ComplianceSchema1732500000501,
  ComplianceReviewerIdentity1732500000502,
  ComplianceAppendOnlyAudit1732500000510,
  ComplianceEmergency1732500000520,
  CompliancePersonalData1732500001100,
  ComplianceRequestsFillfactor1732900000501,
  CompliancePersonalValuesIndexes1732900000502,
];
