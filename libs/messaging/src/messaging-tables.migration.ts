import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The messaging tables' migrations, oldest first: every service lists them first in its own (the tables live
 * in its schema, so "state change + events emitted" and "effects + event processed" each commit in one
 * transaction).
 */
export function messagingMigrations(schema: string): Array<new () => MigrationInterface> {
  return [messagingTablesMigration(schema), outboxRowsLeaveWhenSentMigration(schema)];
}

/** Outbox and inbox tables in a service's own schema. */
export function messagingTablesMigration(schema: string): new () => MigrationInterface {
  return class MessagingTables1732500000000 implements MigrationInterface {
    name = 'MessagingTables1732500000000';

    async up(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`
        CREATE TABLE "${schema}"."outbox" (
          "seq" bigserial PRIMARY KEY,
          "event_id" uuid NOT NULL UNIQUE,
          "subject" text NOT NULL,
          "payload" text NOT NULL,
          "headers" jsonb NOT NULL DEFAULT '{}'::jsonb,
          "created_at" timestamptz NOT NULL DEFAULT now(),
          "sent_at" timestamptz
        )`);
      await queryRunner.query(`CREATE INDEX "outbox_unsent" ON "${schema}"."outbox" ("seq") WHERE "sent_at" IS NULL`);
      await queryRunner.query(`CREATE INDEX "outbox_sent_at" ON "${schema}"."outbox" ("sent_at") WHERE "sent_at" IS NOT NULL`);
      await queryRunner.query(`
        CREATE TABLE "${schema}"."inbox" (
          "consumer" text NOT NULL,
          "event_id" text NOT NULL,
          "processed_at" timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY ("consumer", "event_id")
        )`);
      await queryRunner.query(`CREATE INDEX "inbox_processed_at" ON "${schema}"."inbox" ("processed_at")`);
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`DROP TABLE "${schema}"."inbox"`);
      await queryRunner.query(`DROP TABLE "${schema}"."outbox"`);
    }
  };
}

/**
 * A published outbox row is deleted instead of marked sent and deleted an hour later. The mark was an update
 * that copied the whole row with three new index entries (the partial indexes on `sent_at` ruled out a
 * heap-only update), for every event; a delete writes neither. Every row left is one to publish, so the
 * primary key orders the relay's reads and the partial indexes go. What the retained rows guarded, a second
 * insert of the same event id, is JetStream's duplicate window's to drop, as for a row published twice.
 */
export function outboxRowsLeaveWhenSentMigration(schema: string): new () => MigrationInterface {
  return class OutboxRowsLeaveWhenSent1732950000000 implements MigrationInterface {
    name = 'OutboxRowsLeaveWhenSent1732950000000';

    async up(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`DELETE FROM "${schema}"."outbox" WHERE "sent_at" IS NOT NULL`);
      await queryRunner.query(`DROP INDEX "${schema}"."outbox_unsent"`);
      await queryRunner.query(`DROP INDEX "${schema}"."outbox_sent_at"`);
      await queryRunner.query(`ALTER TABLE "${schema}"."outbox" DROP COLUMN "sent_at"`);
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.query(`ALTER TABLE "${schema}"."outbox" ADD COLUMN "sent_at" timestamptz`);
      await queryRunner.query(`CREATE INDEX "outbox_unsent" ON "${schema}"."outbox" ("seq") WHERE "sent_at" IS NULL`);
      await queryRunner.query(`CREATE INDEX "outbox_sent_at" ON "${schema}"."outbox" ("sent_at") WHERE "sent_at" IS NOT NULL`);
    }
  };
}
