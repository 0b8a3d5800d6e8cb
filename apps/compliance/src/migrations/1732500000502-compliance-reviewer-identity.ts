import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SOC2 CC8.1 counts, on a governed change, only the approval of a person whose identity was verified: each
 * review keeps its expert's kind and the verified subject who answered, each request the CoE's tier. Rows from
 * before keep NULL (not known), which never counts as a verified person's approval.
 */
export class ComplianceReviewerIdentity1732500000502 implements MigrationInterface {
  name = 'ComplianceReviewerIdentity1732500000502';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "compliance"."reviews" ADD COLUMN "expert_kind" text, ADD COLUMN "actor_subject" text`);
    await q.query(`ALTER TABLE "compliance"."requests" ADD COLUMN "tier_level" smallint`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "compliance"."requests" DROP COLUMN "tier_level"`);
    await q.query(`ALTER TABLE "compliance"."reviews" DROP COLUMN "actor_subject", DROP COLUMN "expert_kind"`);
  }
}
