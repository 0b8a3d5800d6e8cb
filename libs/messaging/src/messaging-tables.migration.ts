import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox and inbox tables in a service's own schema. Every service lists this migration first, so
 * "state change + events emitted" and "effects + event processed" can each commit in one transaction.
 */
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
