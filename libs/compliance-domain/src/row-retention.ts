/**
 * Which rows retention deletes (docs/compliance.md "Retention"): activity records of changes, once the longest
 * period of the classes they hold has passed since their date. That is `operational_days` for every table here
 * (each row holds ids and times), but signed attestations, which are evidence: `audit_evidence_days`.
 *
 * Every delete walks an index, so a run reads what is due, not the table: most tables go by a time-ordered
 * (UUIDv7) id, whose leading 48 bits are its creation time in ms, so "made before the cut-off" is a range of
 * the id's index; the row's own date column, where it has one, then decides. Where a table has no date, the
 * id is the date, and only version-7 ids qualify (an id from outside or from before UUIDv7 says nothing
 * about time). Not here: the audit trail (append-only evidence: a hash chain), configuration in use (expert
 * registry, API keys, subscriptions, gate modes), the learned models, running totals and published history
 * (one row per project, component or training run, not per change), inboxes and outboxes (purged on their
 * own), and compliance's personal values (removed when personal data is due).
 */
export type RetentionPeriod = 'operational' | 'audit_evidence';

export interface PrunedTable {
  table: string;
  /** The indexed column a run walks: a UUIDv7 id column (`uuid` or its text), or the date column itself. */
  walk: { id: string; type: 'uuid' | 'text' } | 'date';
  /** The row's date; without one, the id's time is its date. */
  dateColumn?: string;
  period: RetentionPeriod;
  /** A further condition on the row (SQL on the alias `row`), e.g. that nothing still refers to it. */
  onlyIf?: string;
}

const byRequest = (table: string, dateColumn: string, extra: Partial<PrunedTable> = {}): PrunedTable => ({
  table,
  walk: { id: 'request_id', type: 'uuid' },
  dateColumn,
  period: 'operational',
  ...extra,
});

/** Per schema, in the order the deletes run: rows that refer to others go before them. */
export const PRUNED_TABLES: Readonly<Record<string, readonly PrunedTable[]>> = {
  intake: [
    byRequest('request_events', 'recorded_at'),
    byRequest('assignments', 'assigned_at'),
    { table: 'review_submissions', walk: { id: 'assignment_id', type: 'uuid' }, dateColumn: 'submitted_at', period: 'operational' },
    byRequest('outcomes', 'reported_at'),
    byRequest('rejected_answers', 'rejected_at'),
    byRequest('break_glass_requests', 'requested_at'),
    byRequest('attestations', 'created_at', { period: 'audit_evidence' }),
    // An idempotency key is the pipeline's, not a time-ordered id.
    { table: 'idempotency_keys', walk: 'date', dateColumn: 'created_at', period: 'operational' },
    { table: 'requests', walk: { id: 'id', type: 'uuid' }, dateColumn: 'created_at', period: 'operational' },
  ],
  risk: [byRequest('assessments', 'assessed_at')],
  coe: [
    byRequest('assignments', 'assigned_at'),
    byRequest('compliance_evaluations', 'evaluated_at'),
    byRequest('decisions', 'decided_at'),
    byRequest('break_glass', 'received_at'),
    byRequest('requests', 'created_at', { onlyIf: `NOT EXISTS (SELECT 1 FROM "coe"."assignments" a WHERE a."request_id" = "row"."request_id")` }),
  ],
  sla: [
    byRequest('timers', 'created_at'),
    { table: 'cancelled_assignments', walk: { id: 'assignment_id', type: 'uuid' }, dateColumn: 'cancelled_at', period: 'operational' },
  ],
  learning: [
    byRequest('patterns', 'decided_at'),
    { table: 'change_history', walk: 'date', dateColumn: 'changed_at', period: 'operational' },
  ],
  compliance: [
    { table: 'reviews', walk: { id: 'assignment_id', type: 'uuid' }, period: 'operational' },
    { table: 'assignments', walk: { id: 'assignment_id', type: 'uuid' }, period: 'operational' },
    { table: 'requests', walk: { id: 'request_id', type: 'uuid' }, period: 'operational' },
    // The people of a change, by its correlation id (a request's id; other correlations are not UUIDv7).
    { table: 'change_people', walk: { id: 'correlation_id', type: 'text' }, period: 'operational' },
  ],
  notify: [{ table: 'deliveries', walk: { id: 'id', type: 'uuid' }, dateColumn: 'created_at', period: 'operational', onlyIf: `"row"."status" <> 'pending'` }],
  integrations: [
    { table: 'callbacks', walk: 'date', dateColumn: 'created_at', period: 'operational' },
    {
      table: 'gates',
      walk: 'date',
      dateColumn: 'received_at',
      period: 'operational',
      onlyIf: `NOT EXISTS (SELECT 1 FROM "integrations"."callbacks" c WHERE c."gate_key" = "row"."gate_key")`,
    },
    byRequest('decisions', 'decided_at'),
  ],
  rollout: [
    byRequest('signals', 'received_at'),
    byRequest('rollbacks', 'requested_at'),
    byRequest('decisions', 'decided_at'),
    byRequest('rollouts', 'started_at', {
      onlyIf: `NOT EXISTS (SELECT 1 FROM "rollout"."signals" s WHERE s."request_id" = "row"."request_id") AND NOT EXISTS (SELECT 1 FROM "rollout"."rollbacks" b WHERE b."request_id" = "row"."request_id")`,
    }),
    { table: 'requests', walk: { id: 'request_id', type: 'uuid' }, period: 'operational' },
  ],
};

/**
 * The smallest UUIDv7 of the given instant: every v7 id made before it sorts below, as a `uuid` and as its
 * lower-case text.
 */
export function uuidV7Floor(at: Date): string {
  const hex = Math.max(0, Math.floor(at.getTime())).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
