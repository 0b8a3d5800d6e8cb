import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change of the webhook subscriptions, by any writer, tells the listening notify replicas to read them
 * again (`SubscribedProjects`), so an event of a project without subscriptions is passed over without a
 * transaction. Statement-level: one message per change however many rows it touched.
 */
export class NotifySubscriptionsChanged1732900000601 implements MigrationInterface {
  name = 'NotifySubscriptionsChanged1732900000601';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "notify"."announce_subscriptions_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('agf_notify_subscriptions', '');
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER "subscriptions_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "notify"."subscriptions" FOR EACH STATEMENT EXECUTE FUNCTION "notify"."announce_subscriptions_changed"()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "subscriptions_changed" ON "notify"."subscriptions"`);
    await q.query(`DROP FUNCTION "notify"."announce_subscriptions_changed"()`);
  }
}
