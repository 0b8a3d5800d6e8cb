import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A request approved by break-glass keeps who broke the glass and its review after the fact: SOC2 CC8.1
 * reports it as an emergency change, judged by that review. An assignment the CoE cancelled is no longer
 * waited for (stored like a superseded one).
 */
export class ComplianceEmergency1732500000520 implements MigrationInterface {
  name = 'ComplianceEmergency1732500000520';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "compliance"."requests" ADD COLUMN "emergency" jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "compliance"."requests" DROP COLUMN "emergency"`);
  }
}
