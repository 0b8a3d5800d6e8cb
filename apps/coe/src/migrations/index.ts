import { messagingMigrations } from '@agf/messaging';
import { CoeSchema1732500000101 } from './1732500000101-coe-schema';
import { ExpertRegistry1732500000120 } from './1732500000120-expert-registry';
import { CoeEscalation1732500000130 } from './1732500000130-coe-escalation';
import { CoeProjectModes1732500000140 } from './1732500000140-project-modes';

/** CoE's schema, oldest migration first (the service's and its tests' one list). */
export const COE_MIGRATIONS = [...messagingMigrations('coe'), CoeSchema1732500000101, ExpertRegistry1732500000120, CoeEscalation1732500000130, CoeProjectModes1732500000140];
