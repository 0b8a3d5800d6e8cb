import { messagingMigrations } from '@agf/messaging';
import { IntakeSchema1732500000001 } from './1732500000001-intake-schema';
import { IntakeRejectedAnswers1732500000002 } from './1732500000002-rejected-answers';
import { IntakeApiKeys1732500000003 } from './1732500000003-api-keys';
import { IntakeReviewerInbox1732500000020 } from './1732500000020-reviewer-inbox';
import { IntakeRequestEventsAttestations1732500000030 } from './1732500000030-request-events-attestations';
import { IntakeOpenAssignmentsIndex1732600000001 } from './1732600000001-open-assignments-index';
import { IntakeIdempotencyKeysCreatedIndex1732800000001 } from './1732800000001-idempotency-keys-created-index';

import { IntakeRequestsFillfactor1732900000001 } from './1732900000001-requests-fillfactor';
/** Intake's schema, oldest migration first (the service's and its tests' one list). */
export const INTAKE_MIGRATIONS = [
  ...messagingMigrations('intake'),
  IntakeSchema1732500000001,
  IntakeRejectedAnswers1732500000002,
  IntakeApiKeys1732500000003,
  IntakeReviewerInbox1732500000020,
  IntakeRequestEventsAttestations1732500000030,
  IntakeOpenAssignmentsIndex1732600000001,
  IntakeIdempotencyKeysCreatedIndex1732800000001,
  IntakeRequestsFillfactor1732900000001,
];
