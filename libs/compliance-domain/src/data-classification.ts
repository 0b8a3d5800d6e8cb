/**
 * Every stored field of every AGF schema, classed once, here (docs/compliance.md "Data classification"):
 * - `personal`: identifies or describes a person (requesters, reviewers, actors, names, contact details,
 *   free text people wrote), or a document that holds such fields (a request body, an event payload);
 * - `confidential`: the organisation's governance content (changes, risk, decisions, secrets' hashes);
 * - `operational`: ids, times, states and counters needed to run the system.
 * A column missing here shows as unclassified in GDPR Art. 30 results, and a test compares this map with a
 * fully migrated database, so a new column cannot go unclassified unnoticed.
 */
export type DataClass = 'personal' | 'confidential' | 'operational';

interface TableClasses {
  personal?: readonly string[];
  confidential?: readonly string[];
  operational?: readonly string[];
}

const MESSAGING: Record<string, TableClasses> = {
  inbox: { operational: ['consumer', 'event_id', 'processed_at'] },
  migrations: { operational: ['id', 'timestamp', 'name'] },
  // An outbox row is an event on its way out: its payload may name people.
  outbox: { personal: ['payload'], operational: ['seq', 'event_id', 'subject', 'headers', 'created_at'] },
};

const TABLES: Record<string, Record<string, TableClasses>> = {
  intake: {
    ...MESSAGING,
    api_keys: { personal: ['subject', 'created_by', 'name'], confidential: ['key_hash', 'roles', 'projects'], operational: ['id', 'expires_at', 'created_at', 'revoked_at'] },
    assignments: {
      personal: ['comments', 'conditions'],
      confidential: ['decision', 'scope', 'purpose', 'purpose_detail', 'cancel_reason'],
      operational: ['id', 'request_id', 'expert_id', 'expert_type', 'expert_kind', 'role', 'status', 'tier_level', 'assigned_at', 'sla_due_at', 'supersedes_assignment_id', 'completed_at', 'warned_at', 'breached_at', 'priority', 'cancelled_at', 'replaced_by_assignment_id'],
    },
    attestations: { personal: ['envelope'], operational: ['request_id', 'keyid', 'created_at'] },
    break_glass_requests: { personal: ['justification', 'actor'], operational: ['request_id', 'event_id', 'requested_at'] },
    idempotency_keys: { confidential: ['fingerprint'], operational: ['key', 'request_id', 'created_at'] },
    outcomes: { personal: ['details'], operational: ['event_id', 'request_id', 'status', 'reported_at'] },
    rejected_answers: { confidential: ['reason'], operational: ['event_id', 'request_id', 'assignment_id', 'expert_id', 'code', 'rejected_at'] },
    request_events: { personal: ['data'], operational: ['request_id', 'seq', 'type', 'recorded_at'] },
    requests: {
      // The compliance evaluation's reasons name the requester and approvers.
      personal: ['requester', 'request', 'decision', 'escalation', 'break_glass', 'compliance'],
      confidential: ['risk', 'classification'],
      operational: ['id', 'project_id', 'component_name', 'version', 'status', 'status_rank', 'created_at', 'updated_at'],
    },
    review_submissions: { operational: ['assignment_id', 'request_id', 'expert_id', 'event_id', 'submitted_at'] },
  },
  risk: {
    ...MESSAGING,
    defect_models: { confidential: ['model'], operational: ['scope', 'sequence', 'version', 'published_at'] },
    assessments: { personal: ['assessment'], confidential: ['overall_score'], operational: ['request_id', 'project_id', 'component_name', 'revision', 'assessed_at'] },
    component_history: { confidential: ['stats'], operational: ['project_id', 'component_name', 'revision', 'updated_at'] },
    project_history: { confidential: ['stats'], operational: ['project_id', 'revision', 'updated_at'] },
  },
  coe: {
    ...MESSAGING,
    assignments: {
      personal: ['comments', 'conditions', 'actor'],
      confidential: ['decision', 'confidence', 'scope', 'purpose', 'escalation_reason'],
      operational: ['id', 'request_id', 'expert_id', 'expert_type', 'expert_kind', 'runtime', 'role', 'tier_level', 'priority', 'sla_hours', 'assigned_at', 'sla_due_at', 'status', 'supersedes_assignment_id', 'completed_at', 'escalation_level'],
    },
    break_glass: { personal: ['event'], operational: ['request_id', 'received_at'] },
    compliance_evaluations: { personal: ['evaluation'], operational: ['request_id', 'evaluated_at'] },
    decisions: { personal: ['decision'], confidential: ['outcome'], operational: ['request_id', 'tier_level', 'decided_at'] },
    project_modes: { personal: ['changed_by'], operational: ['project_id', 'mode', 'changed_at'] },
    experts: {
      personal: ['name', 'principal', 'email', 'phone', 'away_from', 'away_until'],
      confidential: ['specialties'],
      operational: ['id', 'expert_type', 'kind', 'level', 'runtime', 'capacity', 'open_reviews', 'active', 'updated_at', 'available', 'source', 'config_hash'],
    },
    requests: {
      personal: ['requester', 'request'],
      confidential: ['risk', 'triggers', 'tier_reasons', 'unfilled_roles'],
      operational: ['request_id', 'project_id', 'tier_level', 'breach_count', 'forced_escalation', 'created_at'],
    },
  },
  sla: {
    ...MESSAGING,
    cancelled_assignments: { operational: ['assignment_id', 'request_id', 'reason', 'cancelled_at'] },
    timers: { operational: ['assignment_id', 'kind', 'request_id', 'project_id', 'expert_id', 'tier_level', 'assigned_at', 'sla_due_at', 'due_at', 'fraction', 'cause_event_id', 'created_at', 'fired_at', 'cancelled_at', 'cancel_reason'] },
  },
  learning: {
    ...MESSAGING,
    change_history: { confidential: ['metrics', 'outcome', 'label'], operational: ['project_id', 'change_key', 'changed_at', 'source', 'recorded_at'] },
    risk_models: {
      confidential: ['model', 'check_detail', 'validation_auc', 'validation_brier'],
      operational: ['sequence', 'version', 'project_id', 'passed', 'training_rows', 'trained_at'],
    },
    patterns: {
      personal: ['request', 'decision'],
      confidential: ['risk', 'features', 'decision_outcome', 'deployment_outcome'],
      operational: ['request_id', 'project_id', 'component_name', 'tier_level', 'outcome_reported_at', 'decided_at', 'captured'],
    },
    outcome_totals: { confidential: ['deployments', 'failures', 'rollbacks'], operational: ['project_id', 'component_name', 'last_failure_at'] },
    project_revisions: { operational: ['project_id', 'revision'] },
    published_models: { confidential: ['project_stats', 'component_stats'], operational: ['project_id', 'component_name', 'revision'] },
  },
  compliance: {
    ...MESSAGING,
    assignments: { operational: ['assignment_id', 'request_id', 'superseded'] },
    // The payload sits under the hash chain: its personal fields are sealed per subject (crypto-shredding).
    audit_entries: { personal: ['payload'], operational: ['sequence', 'event_id', 'event_type', 'subject', 'correlation_id', 'occurred_at', 'recorded_at', 'previous_hash', 'content_hash', 'entry_hash'] },
    audit_pending: { personal: ['payload'], operational: ['arrival', 'event_id', 'event_type', 'subject', 'correlation_id', 'occurred_at'] },
    chain_head: { operational: ['id', 'sequence', 'entry_hash'] },
    // Beside the chain: the personal values its commitments stand for, and who they are about (HMAC digests).
    personal_values: { personal: ['value', 'owners'], confidential: ['salt'], operational: ['id', 'event_id', 'created_at'] },
    change_people: { personal: ['person'], operational: ['correlation_id'] },
    privacy_key: { confidential: ['hmac_key'], operational: ['id'] },
    erasures: { personal: ['subject_commitment'], operational: ['erasure_id', 'pseudonym', 'audit_values_removed', 'requested_at'] },
    requests: { personal: ['request', 'latest_evaluation', 'emergency'], operational: ['request_id', 'project_id', 'risk_assessed', 'tier_level'] },
    reviews: { personal: ['actor_subject'], confidential: ['decision'], operational: ['assignment_id', 'request_id', 'expert_id', 'expert_type', 'expert_kind'] },
  },
  notify: {
    ...MESSAGING,
    deliveries: {
      personal: ['event', 'recipient', 'address', 'notice'],
      confidential: ['last_error'],
      operational: ['id', 'event_id', 'channel', 'channel_kind', 'action', 'request_id', 'project_id', 'severity', 'status', 'attempts', 'next_attempt_at', 'created_at', 'last_attempt_at', 'sent_at', 'dead_at'],
    },
    subscriptions: { personal: ['created_by'], confidential: ['url', 'secret', 'events'], operational: ['id', 'project_id', 'created_at'] },
  },
  integrations: {
    ...MESSAGING,
    callbacks: { personal: ['comment'], confidential: ['last_error'], operational: ['gate_key', 'request_id', 'approved', 'attempts', 'next_attempt_at', 'sent_at', 'failed_at', 'created_at'] },
    decisions: { personal: ['body'], confidential: ['outcome'], operational: ['request_id', 'project_id', 'approved', 'shadow', 'decided_at'] },
    gates: { confidential: ['callback_url', 'installation_id'], operational: ['gate_key', 'provider', 'project_id', 'environment', 'request_id', 'received_at'] },
    project_modes: { operational: ['project_id', 'mode', 'changed_at'] },
  },
  rollout: {
    ...MESSAGING,
    requests: { personal: ['requester', 'metadata'], confidential: ['risk_score', 'risk_revision'], operational: ['request_id', 'project_id', 'component_name', 'version'] },
    decisions: { personal: ['body'], confidential: ['outcome'], operational: ['request_id', 'project_id', 'component_name', 'version', 'approved', 'decided_at'] },
    rollouts: {
      confidential: ['verdict', 'live_score', 'criteria'],
      operational: ['request_id', 'project_id', 'component_name', 'version', 'status', 'percent', 'emergency', 'revision', 'consecutive_inconclusive', 'next_evaluation_at', 'started_at', 'updated_at'],
    },
    signals: { operational: ['id', 'request_id', 'name', 'value', 'unit', 'at', 'source', 'received_at'] },
    rollbacks: {
      personal: ['confirmed_by'],
      confidential: ['reason'],
      operational: ['request_id', 'project_id', 'component_name', 'signal_at', 'requested_at', 'warn_at', 'due_at', 'warned_at', 'breached_at', 'completed_at'],
    },
  },
};

export interface ClassifiedField {
  schema: string;
  table: string;
  column: string;
  dataClass: DataClass;
}

/** The map as a flat list: one row per stored field. */
export const DATA_CLASSIFICATION: readonly ClassifiedField[] = Object.entries(TABLES).flatMap(([schema, tables]) =>
  Object.entries(tables).flatMap(([table, classes]) =>
    (['personal', 'confidential', 'operational'] as const).flatMap((dataClass) => (classes[dataClass] ?? []).map((column) => ({ schema, table, column, dataClass }))),
  ),
);

export const CLASSIFIED_SCHEMAS: readonly string[] = Object.keys(TABLES);

const byField = new Map(DATA_CLASSIFICATION.map((f) => [`${f.schema}.${f.table}.${f.column}`, f.dataClass]));

export function classOf(schema: string, table: string, column: string): DataClass | undefined {
  return byField.get(`${schema}.${table}.${column}`);
}

/** Which of these stored fields (`schema.table.column`) the map does not class. */
export function unclassifiedFields(fields: Iterable<{ schema: string; table: string; column: string }>): string[] {
  return [...fields].filter((f) => !classOf(f.schema, f.table, f.column)).map((f) => `${f.schema}.${f.table}.${f.column}`);
}

/**
 * The tables retention applies to in each schema, with the column that dates a row: activity records of
 * changes. Their personal fields are expired `retention.personal_days` after that date. Not here: the expert
 * registry, API keys and subscriptions (configuration, kept while in use), signed attestations (a changed byte
 * breaks the signature: kept as evidence), and compliance's audit trail (its values beside the chain expire
 * on their own, see `compliance.personal_values`).
 */
export const RETENTION_AGE_COLUMN: Readonly<Record<string, string>> = {
  'intake.requests': 'created_at',
  'intake.assignments': 'assigned_at',
  'intake.break_glass_requests': 'requested_at',
  'intake.outcomes': 'reported_at',
  'intake.request_events': 'recorded_at',
  'risk.assessments': 'assessed_at',
  'coe.assignments': 'assigned_at',
  'coe.break_glass': 'received_at',
  'coe.compliance_evaluations': 'evaluated_at',
  'coe.decisions': 'decided_at',
  'coe.requests': 'created_at',
  'learning.patterns': 'decided_at',
  'notify.deliveries': 'created_at',
  'integrations.callbacks': 'created_at',
  'integrations.decisions': 'decided_at',
  'rollout.decisions': 'decided_at',
  'rollout.rollbacks': 'requested_at',
  ...Object.fromEntries(Object.keys(TABLES).map((schema) => [`${schema}.outbox`, 'created_at'])),
};
