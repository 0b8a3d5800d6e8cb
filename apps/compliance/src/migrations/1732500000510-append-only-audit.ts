import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail is append-only: a trigger refuses any UPDATE, DELETE or TRUNCATE of its entries, whoever
 * runs it. A superuser can still disable the trigger; the signed checkpoints outside the database catch that.
 */
export class ComplianceAppendOnlyAudit1732500000510 implements MigrationInterface {
  name = 'ComplianceAppendOnlyAudit1732500000510';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "compliance"."refuse_audit_change"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % of compliance.audit_entries refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TRIGGER "audit_entries_append_only" BEFORE UPDATE OR DELETE ON "compliance"."audit_entries" FOR EACH ROW EXECUTE FUNCTION "compliance"."refuse_audit_change"()`);
    await q.query(`CREATE TRIGGER "audit_entries_no_truncate" BEFORE TRUNCATE ON "compliance"."audit_entries" FOR EACH STATEMENT EXECUTE FUNCTION "compliance"."refuse_audit_change"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "audit_entries_no_truncate" ON "compliance"."audit_entries"`);
    await q.query(`DROP TRIGGER "audit_entries_append_only" ON "compliance"."audit_entries"`);
    await q.query(`DROP FUNCTION "compliance"."refuse_audit_change"()`);
  }
}
