import { Controller, Inject, Logger } from '@nestjs/common';
import { DATA_CLASSIFICATION, erasurePattern } from '@agf/compliance-domain';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import type { EntityManager } from 'typeorm';
import type { InfraConfig } from './infra-config';
import { PrivacyRetentionJob } from './privacy-retention';
import { INFRA_CONFIG } from './tokens';

/** Fields erased by other means: the audit chain seals its personal values beside it (compliance removes those). */
const ERASED_OTHERWISE = new Set(['compliance.audit_entries.payload', 'compliance.audit_pending.payload', 'compliance.personal_values.value', 'compliance.personal_values.owners', 'compliance.change_people.person', 'compliance.erasures.subject_commitment']);

/** Rounds per column: a pattern match consumes the character around it, so "a a" needs a second pass. */
const MAX_ROUNDS = 3;

/**
 * Every service pseudonymises an erased person in its own schema (docs/compliance.md "Erasure"): each personal
 * field of the data classification map that holds the subject as a whole word, as text, in JSON, or in an
 * array, gets the pseudonym instead. A redelivered request finds nothing more to change.
 */
@Controller()
export class PrivacyErasureController {
  private readonly logger = new Logger('privacy');

  constructor(
    @Inject(INFRA_CONFIG) private readonly infra: InfraConfig,
    private readonly retention: PrivacyRetentionJob,
  ) {}

  /** Retention now, as the schedule would run it (an admin asked through compliance). */
  @OnMessage('privacy.retention.requested')
  async retain(_event: CloudEvent<'privacy.retention.requested'>, ctx: MessageContext): Promise<void> {
    await this.retention.runIn(ctx.manager, (event) => ctx.emit(event));
  }

  @OnMessage('privacy.erasure.requested')
  async erase(event: CloudEvent<'privacy.erasure.requested'>, ctx: MessageContext): Promise<void> {
    const changed = await pseudonymiseSchema(ctx.manager, this.infra.schema, event.data.subject, event.data.pseudonym);
    ctx.emit({
      name: 'privacy.erasure.applied',
      correlationId: event.data.erasureId,
      data: { erasureId: event.data.erasureId, service: this.infra.service, changed, appliedAt: new Date().toISOString() },
    });
    const total = Object.values(changed).reduce((a, b) => a + b, 0);
    ctx.onCommitted(() => this.logger.log(`erasure ${event.data.erasureId}: ${total} field value(s) pseudonymised in schema ${this.infra.schema}`));
  }
}

/** Replaces `subject` by `pseudonym` in every personal field of `schema`; returns rows changed per field. */
export async function pseudonymiseSchema(m: Pick<EntityManager, 'query'>, schema: string, subject: string, pseudonym: string): Promise<Record<string, number>> {
  const fields = DATA_CLASSIFICATION.filter((f) => f.schema === schema && f.dataClass === 'personal' && !ERASED_OTHERWISE.has(`${f.schema}.${f.table}.${f.column}`));
  const columns: Array<{ table: string; column: string; type: string }> = await m.query(
    `SELECT "table_name" AS "table", "column_name" AS "column", "data_type" AS "type" FROM "information_schema"."columns" WHERE "table_schema" = $1`,
    [schema],
  );
  const typeOf = new Map(columns.map((c) => [`${c.table}.${c.column}`, c.type]));
  const { pattern, replacement } = erasurePattern(subject);
  const changed: Record<string, number> = {};
  for (const field of fields) {
    const type = typeOf.get(`${field.table}.${field.column}`);
    const target = `"${schema}"."${field.table}"`;
    const c = `"${field.column}"`;
    let sql: string | undefined;
    if (type === 'text' || type === 'character varying' || type === 'character') sql = `UPDATE ${target} SET ${c} = regexp_replace(${c}, $1, $2, 'g') WHERE ${c} ~ $1`;
    else if (type === 'jsonb' || type === 'json') sql = `UPDATE ${target} SET ${c} = regexp_replace(${c}::text, $1, $2, 'g')::${type} WHERE ${c}::text ~ $1`;
    else if (type === 'ARRAY') sql = `UPDATE ${target} SET ${c} = ARRAY(SELECT regexp_replace(x, $1, $2, 'g') FROM unnest(${c}) AS x) WHERE array_to_string(${c}, chr(10)) ~ $1`;
    if (!sql) continue;
    let rows = 0;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const result: unknown = await m.query(`WITH "changed" AS (${sql} RETURNING 1) SELECT count(*)::int AS "n" FROM "changed"`, [pattern, replacement(pseudonym)]);
      const n = (result as Array<{ n: number }>)[0]?.n ?? 0;
      if (round === 0) rows = n;
      if (n === 0) break;
    }
    if (rows) changed[`${schema}.${field.table}.${field.column}`] = rows;
  }
  return changed;
}
