import { CanonicalJsonText, canonicalJson, chainEntry } from '@agf/compliance-domain';
import { type CloudEventEnvelope, createEvent, type EventName } from '@agf/contracts';
import { aDecision, aDeploymentRequest, aRiskAssessment } from '@agf/contracts/testing';

/**
 * A realistic history written straight into every service's schema, set-based: the requests' facts are drawn
 * once into a staging table (`generate_series`), each service's rows are derived from it a chunk of requests
 * per statement, and the audit chain is hashed here with compliance's own functions (it must verify).
 */
export interface HistoryShape {
  projects: number;
  requests: number;
  years: number;
  /** Requests per statement (and per audit batch). */
  chunk: number;
  /** The end of the history: its newest request is two days before. */
  now: Date;
}

export interface PreloadReport {
  seconds: number;
  rows: Record<string, number>;
  auditEntries: number;
  databaseBytes: number;
}

interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** The project and component the bench's new requests use: the busiest of the history (see `projectOf`). */
export const BUSIEST_PROJECT = 'bench-project';
export const BUSIEST_COMPONENT = 'login-service';
const STAGING = '"bench_history"';
/** Inbox rows are pruned after the longest stream retention (30 days for dead letters) and a day. */
const INBOX_RETENTION_DAYS = 31;
const AUDIT_BATCH = 5000;

const SERVICE_TABLES = [
  'intake.requests', 'intake.request_events', 'intake.assignments', 'intake.review_submissions', 'intake.outcomes', 'intake.inbox',
  'risk.assessments', 'risk.project_history', 'risk.component_history', 'risk.inbox',
  'coe.requests', 'coe.assignments', 'coe.compliance_evaluations', 'coe.decisions', 'coe.inbox',
  'sla.timers', 'sla.cancelled_assignments', 'sla.inbox',
  'learning.patterns', 'learning.outcome_totals', 'learning.project_revisions', 'learning.published_models', 'learning.inbox',
  'compliance.requests', 'compliance.assignments', 'compliance.reviews', 'compliance.audit_entries', 'compliance.inbox',
  'compliance.change_people', 'compliance.erasures',
] as const;

/** Templates of the JSON documents the services store, from the contracts' own builders; SQL overrides their per-request fields. */
function templates(): Record<'request' | 'risk' | 'decision' | 'features', string> {
  const request = aDeploymentRequest({ changes: ['src/auth/login-form.ts'] });
  const { request: _request, ...risk } = aRiskAssessment(request);
  const decision = aDecision({ requestId: request.requestId, projectId: request.projectId });
  // The learning features of a typical low-risk change (what learning-domain's extractFeatures yields for it).
  const features = { codeChanges: 0.12, filesChanged: 0.05, testsPassed: 1, userImpact: 0.2, security: 0.2, complexity: 0.2, impact: 0.2, historical: 0.2 };
  return { request: JSON.stringify(request), risk: JSON.stringify(risk), decision: JSON.stringify(decision), features: JSON.stringify(features) };
}

/**
 * Draws every request's facts: time (spread evenly over the years, oldest first by `i`), project (skewed: a few
 * busy projects, many quiet ones; project 0 is the bench's own), tier (80 % automated, 15 % one reviewer,
 * 5 % two), outcome and deployment result; and one row per review assignment.
 */
async function drawFacts(db: Queryable, shape: HistoryShape): Promise<void> {
  // The newest request two days back: its review (up to a day) and outcome report are in the past too.
  const spanMs = shape.years * 365.25 * 86_400_000 - 2 * 86_400_000;
  const startMs = shape.now.getTime() - shape.years * 365.25 * 86_400_000;
  await db.query(`CREATE SCHEMA ${STAGING}`);
  // ISO text as JavaScript writes it (what the services store in JSON and in the audit chain).
  await db.query(`CREATE FUNCTION ${STAGING}.iso(timestamptz) RETURNS text IMMUTABLE LANGUAGE sql AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$`);
  // The time-ordered (UUIDv7) id AGF would have made at that instant (`newId`): retention and the indexes rely on it.
  await db.query(
    `CREATE FUNCTION ${STAGING}.uuid7(timestamptz) RETURNS uuid VOLATILE LANGUAGE sql AS $$
       SELECT (lpad(to_hex(floor(extract(epoch FROM $1) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3)
               || to_hex(8 + floor(random() * 4)::int) || substr(md5(random()::text), 1, 15))::uuid $$`,
  );
  await db.query(
    `CREATE UNLOGGED TABLE ${STAGING}."requests" AS
     SELECT i, ${STAGING}.uuid7(created_at) AS id, project, component,
            CASE WHEN project = 0 THEN '${BUSIEST_PROJECT}' ELSE 'project-' || lpad(project::text, 4, '0') END AS project_id,
            CASE WHEN project = 0 AND component = 0 THEN '${BUSIEST_COMPONENT}' ELSE 'component-' || component END AS component_name,
            '1.' || (i / 1000) || '.' || (i % 1000) AS version,
            'ci-bot-' || (project % 50) AS requester,
            created_at, tier,
            CASE WHEN tier = 0 THEN 'PROCEED_STANDARD' WHEN r_outcome < 0.9 THEN 'PROCEED_WITH_MONITORING' ELSE 'BLOCK_WITH_FEEDBACK' END AS outcome,
            tier = 0 OR r_outcome < 0.9 AS approved,
            round((CASE tier WHEN 0 THEN 0.05 + 0.25 * r_score WHEN 1 THEN 0.3 + 0.3 * r_score ELSE 0.6 + 0.4 * r_score END)::numeric, 3)::float8 AS score,
            created_at + CASE WHEN tier = 0 THEN interval '400 milliseconds' ELSE interval '1 hour' + r_score * interval '20 hours' END AS decided_at,
            CASE WHEN (tier = 0 OR r_outcome < 0.9) AND r_deploy < 0.70 THEN 'succeeded'
                 WHEN (tier = 0 OR r_outcome < 0.9) AND r_deploy < 0.73 THEN 'failed'
                 WHEN (tier = 0 OR r_outcome < 0.9) AND r_deploy < 0.74 THEN 'rolled_back' END AS deployment_outcome
       FROM (SELECT i, floor($2 * random() ^ 2)::int AS project, floor(random() * 6)::int AS component,
                    to_timestamp(($3 + (i - 1 + random()) * $4 / $1) / 1000.0) AS created_at,
                    CASE WHEN r_tier < 0.8 THEN 0 WHEN r_tier < 0.95 THEN 1 ELSE 2 END AS tier,
                    random() AS r_outcome, random() AS r_score, random() AS r_deploy
               FROM (SELECT i, random() AS r_tier FROM generate_series(1, $1) AS i) AS g) AS drawn`,
    [shape.requests, shape.projects, startMs, spanMs],
  );
  await db.query(`CREATE UNIQUE INDEX ON ${STAGING}."requests" (i)`);
  await db.query(
    `CREATE UNLOGGED TABLE ${STAGING}."assignments" AS
     SELECT r.i, r.id AS request_id, ${STAGING}.uuid7(r.created_at + interval '500 milliseconds') AS id, k.n, k.expert_id, k.expert_type, r.tier,
            r.created_at + interval '500 milliseconds' AS assigned_at,
            r.created_at + interval '500 milliseconds' + interval '24 hours' AS sla_due_at,
            r.decided_at - interval '1 second' AS completed_at,
            CASE WHEN r.approved THEN 'approve' ELSE 'reject' END AS decision,
            -- A review that took over 18 of its 24 hours was warned.
            r.decided_at - r.created_at > interval '18 hours' AS warned
       FROM ${STAGING}."requests" r
       JOIN (VALUES (1, 'security_expert_human', 'security'), (2, 'architect_human', 'architecture')) AS k(n, expert_id, expert_type) ON k.n <= r.tier`,
  );
  await db.query(`CREATE INDEX ON ${STAGING}."assignments" (i)`);
}

/** One statement per table, each over the requests `$1 <= i <= $2`; `$3…` are the JSON templates. */
const CHUNK_STATEMENTS: ReadonlyArray<{ table: (typeof SERVICE_TABLES)[number]; sql: string }> = [
  {
    table: 'intake.requests',
    sql: `INSERT INTO "intake"."requests" ("id", "project_id", "component_name", "version", "requester", "request", "status", "status_rank", "risk", "classification", "compliance", "decision", "created_at", "updated_at")
          SELECT h.id, h.project_id, h.component_name, h.version, h.requester, ${requestJson()}, 'decided', 3, ${riskJson()}, ${classificationJson()}, ${complianceJson()}, ${decisionJson()}, h.created_at, h.decided_at
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    table: 'intake.request_events',
    sql: `INSERT INTO "intake"."request_events" ("request_id", "seq", "type", "data", "recorded_at")
          SELECT e.request_id, row_number() OVER (PARTITION BY e.request_id ORDER BY e.at, e.ord), e.type, e.data, e.at
            FROM (SELECT h.id AS request_id, 1 AS ord, 'risk.assessed' AS type, ${riskJson()} AS data, h.created_at + interval '200 milliseconds' AS at FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2
                  UNION ALL SELECT h.id, 2, 'review.classified', ${classificationJson()}, h.created_at + interval '300 milliseconds' FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2
                  UNION ALL SELECT a.request_id, 3, 'review.assigned', ${assignedJson()}, a.assigned_at FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2
                  UNION ALL SELECT a.request_id, 4, 'review.completed', ${completedJson()}, a.completed_at FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2
                  UNION ALL SELECT h.id, 5, 'compliance.evaluated', ${complianceJson()}, h.decided_at - interval '100 milliseconds' FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2
                  UNION ALL SELECT h.id, 6, 'decision.made', ${decisionJson()}, h.decided_at FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2) AS e`,
  },
  {
    table: 'intake.assignments',
    sql: `INSERT INTO "intake"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "role", "status", "tier_level", "assigned_at", "sla_due_at",
            "decision", "comments", "conditions", "completed_at", "warned_at", "scope", "priority", "purpose")
          SELECT a.id, a.request_id, a.expert_id, a.expert_type, 'human', 'standard', 'completed', a.tier, a.assigned_at, a.sla_due_at,
                 a.decision, 'reviewed', '[]', a.completed_at, CASE WHEN a.warned THEN a.assigned_at + interval '18 hours' END, jsonb_build_array(a.expert_type), 'normal', 'review'
            FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'intake.review_submissions',
    sql: `INSERT INTO "intake"."review_submissions" ("assignment_id", "request_id", "expert_id", "event_id", "submitted_at")
          SELECT a.id, a.request_id, a.expert_id, ${STAGING}.uuid7(a.completed_at - interval '1 second'), a.completed_at - interval '1 second' FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'intake.outcomes',
    sql: `INSERT INTO "intake"."outcomes" ("event_id", "request_id", "status", "reported_at", "details")
          SELECT ${STAGING}.uuid7(h.decided_at + interval '2 hours'), h.id, h.deployment_outcome, h.decided_at + interval '2 hours', '{}'
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2 AND h.deployment_outcome IS NOT NULL`,
  },
  {
    table: 'risk.assessments',
    sql: `INSERT INTO "risk"."assessments" ("request_id", "project_id", "component_name", "revision", "overall_score", "assessment", "assessed_at")
          SELECT h.id, h.project_id, h.component_name, 1, h.score, ${riskJson()}, h.created_at + interval '200 milliseconds'
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    table: 'coe.requests',
    sql: `INSERT INTO "coe"."requests" ("request_id", "project_id", "requester", "request", "risk", "triggers", "tier_level", "tier_reasons", "created_at")
          SELECT h.id, h.project_id, h.requester, ${requestJson()}, ${riskJson()}, '[]', h.tier, '["history"]', h.created_at + interval '250 milliseconds'
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    table: 'coe.assignments',
    sql: `INSERT INTO "coe"."assignments" ("id", "request_id", "expert_id", "expert_type", "expert_kind", "runtime", "role", "scope", "tier_level", "priority", "sla_hours",
            "assigned_at", "sla_due_at", "status", "decision", "comments", "conditions", "confidence", "completed_at", "purpose")
          SELECT a.id, a.request_id, a.expert_id, a.expert_type, 'human', 'human', 'standard', jsonb_build_array(a.expert_type), a.tier, 'normal', 24,
                 a.assigned_at, a.sla_due_at, 'completed', a.decision, 'reviewed', '[]', 0.8, a.completed_at, 'review'
            FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'coe.compliance_evaluations',
    sql: `INSERT INTO "coe"."compliance_evaluations" ("request_id", "evaluation", "evaluated_at")
          SELECT h.id, ${complianceJson()}, h.decided_at - interval '100 milliseconds' FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    table: 'coe.decisions',
    sql: `INSERT INTO "coe"."decisions" ("request_id", "outcome", "tier_level", "decision", "decided_at")
          SELECT h.id, h.outcome, h.tier, ${decisionJson()}, h.decided_at FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    // Every timer closed: the warning fired when the review took long, the rest cancelled by the answer.
    table: 'sla.timers',
    sql: `INSERT INTO "sla"."timers" ("assignment_id", "kind", "request_id", "project_id", "expert_id", "tier_level", "assigned_at", "sla_due_at", "due_at", "fraction",
            "created_at", "fired_at", "cancelled_at", "cancel_reason")
          SELECT a.id, k.kind, a.request_id, h.project_id, a.expert_id, a.tier, a.assigned_at, a.sla_due_at,
                 CASE k.kind WHEN 'warning' THEN a.assigned_at + interval '18 hours' ELSE a.sla_due_at END, CASE k.kind WHEN 'warning' THEN 0.75 ELSE 1 END,
                 a.assigned_at,
                 CASE WHEN k.kind = 'warning' AND a.warned THEN a.assigned_at + interval '18 hours' END,
                 CASE WHEN k.kind = 'warning' AND a.warned THEN NULL ELSE a.completed_at END,
                 CASE WHEN k.kind = 'warning' AND a.warned THEN NULL ELSE 'review-completed' END
            FROM ${STAGING}."assignments" a JOIN ${STAGING}."requests" h ON h.i = a.i
           CROSS JOIN (VALUES ('warning'), ('breached')) AS k(kind)
           WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'sla.cancelled_assignments',
    sql: `INSERT INTO "sla"."cancelled_assignments" ("assignment_id", "request_id", "reason", "cancelled_at")
          SELECT a.id, a.request_id, 'review-completed', a.completed_at FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'learning.patterns',
    sql: `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "request", "risk", "features", "decision", "decision_outcome", "tier_level",
            "deployment_outcome", "outcome_reported_at", "decided_at", "captured")
          SELECT h.id, h.project_id, h.component_name, ${requestJson()},
                 jsonb_build_object('overallScore', h.score, 'securityScore', h.score, 'complexityScore', h.score, 'impactScore', h.score, 'historicalScore', h.score, 'confidence', 0.8, 'revision', 1),
                 $5::jsonb, ${decisionJson()}, h.outcome, h.tier, h.deployment_outcome, CASE WHEN h.deployment_outcome IS NOT NULL THEN h.decided_at + interval '2 hours' END, h.decided_at, true
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    table: 'compliance.requests',
    sql: `INSERT INTO "compliance"."requests" ("request_id", "project_id", "request", "risk_assessed", "latest_evaluation", "tier_level")
          SELECT h.id, h.project_id, ${requestJson()}, true, ${complianceJson()}, h.tier FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2`,
  },
  {
    // The people of each change (its requester and reviewers, as the commitments sealing reads them), and people
    // erased since: more than a plan may read without an index (20,000).
    table: 'compliance.change_people',
    sql: `INSERT INTO "compliance"."change_people" ("correlation_id", "person")
          SELECT h.id::text, encode(sha256(convert_to(h.requester, 'UTF8')), 'hex') FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2
          UNION SELECT a.request_id::text, encode(sha256(convert_to('reviewer-' || a.n, 'UTF8')), 'hex') FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'compliance.erasures',
    sql: `INSERT INTO "compliance"."erasures" ("erasure_id", "subject_commitment", "pseudonym", "audit_values_removed", "requested_at")
          SELECT gen_random_uuid(), encode(sha256(convert_to('erased-' || h.i, 'UTF8')), 'hex'), 'erased-' || h.i, 3, h.decided_at
            FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2 AND h.i % 50 = 0`,
  },
  {
    table: 'compliance.assignments',
    sql: `INSERT INTO "compliance"."assignments" ("assignment_id", "request_id") SELECT a.id, a.request_id FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
  {
    table: 'compliance.reviews',
    sql: `INSERT INTO "compliance"."reviews" ("assignment_id", "request_id", "expert_id", "expert_type", "decision", "expert_kind", "actor_subject")
          SELECT a.id, a.request_id, a.expert_id, a.expert_type, a.decision, 'human', 'reviewer-' || a.n FROM ${STAGING}."assignments" a WHERE a.i BETWEEN $1 AND $2`,
  },
];

function requestJson(): string {
  return `($3::jsonb || jsonb_build_object('requestId', h.id, 'projectId', h.project_id, 'componentName', h.component_name, 'version', h.version, 'requester', h.requester,
            'timestamp', ${STAGING}.iso(h.created_at), 'receivedAt', ${STAGING}.iso(h.created_at)))`;
}
function riskJson(): string {
  return `($4::jsonb || jsonb_build_object('requestId', h.id, 'projectId', h.project_id, 'overallScore', h.score, 'assessedAt', ${STAGING}.iso(h.created_at + interval '200 milliseconds')))`;
}
function classificationJson(): string {
  return `jsonb_build_object('requestId', h.id, 'projectId', h.project_id, 'governanceRequired', h.tier > 0, 'triggers', '[]'::jsonb, 'tierLevel', h.tier,
            'tierReasons', jsonb_build_array('history'), 'classifiedAt', ${STAGING}.iso(h.created_at + interval '300 milliseconds'))`;
}
function complianceJson(): string {
  return `jsonb_build_object('requestId', h.id, 'projectId', h.project_id, 'passed', true, 'pending', false, 'controls', '[]'::jsonb,
            'basedOnAssignments', '[]'::jsonb, 'evaluatedAt', ${STAGING}.iso(h.decided_at - interval '100 milliseconds'))`;
}
function decisionJson(): string {
  return `($6::jsonb || jsonb_build_object('requestId', h.id, 'projectId', h.project_id, 'componentName', h.component_name, 'version', h.version, 'outcome', h.outcome,
            'approved', h.approved, 'tierLevel', h.tier, 'riskScore', h.score, 'decidedAt', ${STAGING}.iso(h.decided_at)))`;
}
function assignedJson(): string {
  return `jsonb_build_object('requestId', a.request_id, 'assignmentId', a.id, 'expertId', a.expert_id, 'expertType', a.expert_type, 'expertKind', 'human', 'role', 'standard',
            'tierLevel', a.tier, 'assignedAt', ${STAGING}.iso(a.assigned_at), 'slaDueAt', ${STAGING}.iso(a.sla_due_at))`;
}
function completedJson(): string {
  return `jsonb_build_object('requestId', a.request_id, 'assignmentId', a.id, 'expertId', a.expert_id, 'expertType', a.expert_type, 'decision', a.decision,
            'completedAt', ${STAGING}.iso(a.completed_at))`;
}

/** Per project and component, learning's running outcome totals, and what it last published and risk replicated: the outcome counts of the whole history. */
async function writeHistoryStats(db: Queryable, now: Date): Promise<void> {
  const stats = (where: string) => `jsonb_build_object('deployments', count(*) FILTER (WHERE deployment_outcome IS NOT NULL),
      'failures', count(*) FILTER (WHERE deployment_outcome = 'failed'), 'rollbacks', count(*) FILTER (WHERE deployment_outcome = 'rolled_back'),
      'failureRate', coalesce((count(*) FILTER (WHERE deployment_outcome IN ('failed', 'rolled_back')))::float8 / nullif(count(*) FILTER (WHERE deployment_outcome IS NOT NULL), 0), 0),
      'rollbackRate', coalesce((count(*) FILTER (WHERE deployment_outcome = 'rolled_back'))::float8 / nullif(count(*) FILTER (WHERE deployment_outcome IS NOT NULL), 0), 0),
      'lastFailureAt', ${STAGING}.iso(max(decided_at + interval '2 hours') FILTER (WHERE deployment_outcome IN ('failed', 'rolled_back'))),
      'recentIncidents', count(*) FILTER (WHERE deployment_outcome IN ('failed', 'rolled_back') AND decided_at > $1::timestamptz - interval '30 days'))${where}`;
  await db.query(
    `CREATE UNLOGGED TABLE ${STAGING}."stats" AS
     SELECT c.project_id, c.component_name, c.revision, c.component_stats, p.project_stats
       FROM (SELECT project_id, component_name, count(*)::int AS revision, ${stats('')} AS component_stats FROM ${STAGING}."requests" GROUP BY project_id, component_name) AS c
       JOIN (SELECT project_id, ${stats('')} AS project_stats FROM ${STAGING}."requests" GROUP BY project_id) AS p USING (project_id)`,
    [now],
  );
  await db.query(
    `INSERT INTO "learning"."outcome_totals" ("project_id", "component_name", "deployments", "failures", "rollbacks", "last_failure_at")
     SELECT project_id, component_name, count(*), count(*) FILTER (WHERE deployment_outcome = 'failed'), count(*) FILTER (WHERE deployment_outcome = 'rolled_back'),
            max(decided_at + interval '2 hours') FILTER (WHERE deployment_outcome IN ('failed', 'rolled_back'))
       FROM ${STAGING}."requests" WHERE deployment_outcome IS NOT NULL GROUP BY project_id, component_name`,
  );
  await db.query(`INSERT INTO "learning"."published_models" SELECT project_id, component_name, project_stats, component_stats, revision FROM ${STAGING}."stats"`);
  await db.query(`INSERT INTO "learning"."project_revisions" SELECT project_id, max(revision) FROM ${STAGING}."stats" GROUP BY project_id`);
  await db.query(`INSERT INTO "risk"."component_history" SELECT project_id, component_name, revision, component_stats, $1 FROM ${STAGING}."stats"`, [now]);
  await db.query(`INSERT INTO "risk"."project_history" SELECT DISTINCT ON (project_id) project_id, revision, project_stats, $1 FROM ${STAGING}."stats" ORDER BY project_id, revision DESC`, [now]);
}

/** What each service's inbox still remembers: the events of the last month (older ones are purged). */
async function writeRecentInboxes(db: Queryable, now: Date): Promise<void> {
  const consumers: Record<string, string[]> = {
    intake: ['intake-read-model'],
    risk: ['risk-requests'],
    coe: ['coe-risk', 'coe-reviews', 'coe-compliance'],
    sla: ['sla-assignments', 'sla-decisions'],
    learning: ['learning-risk', 'learning-decisions'],
    compliance: ['compliance-audit', 'compliance-evaluation'],
  };
  for (const [schema, names] of Object.entries(consumers)) {
    await db.query(
      `INSERT INTO "${schema}"."inbox" ("consumer", "event_id", "processed_at")
       SELECT c.consumer, ${STAGING}.uuid7(h.created_at + interval '1 second')::text, h.created_at + interval '1 second'
         FROM ${STAGING}."requests" h CROSS JOIN unnest($1::text[]) AS c(consumer)
        WHERE h.created_at > $2::timestamptz - $3 * interval '1 day'`,
      [names, now, INBOX_RETENTION_DAYS],
    );
  }
}

interface AuditFacts {
  id: string;
  project_id: string;
  component_name: string;
  version: string;
  requester: string;
  tier: number;
  outcome: string;
  approved: boolean;
  score: number;
  created_at: Date;
  decided_at: Date;
  assignments: Array<{ id: string; expert_id: string; decision: string; assigned_at: string; completed_at: string; warned: boolean }> | null;
}

/** The documents of the contracts' builders, parsed once: each audited event is one of them with its request's fields. */
interface EventTemplates {
  request: Record<string, unknown>;
  risk: Record<string, unknown>;
  decision: Record<string, unknown>;
}

/** The events compliance chained for one request, in the order they happened, as large as the real ones. */
function auditedEvents(r: AuditFacts, t: EventTemplates): CloudEventEnvelope[] {
  const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
  const event = <N extends EventName>(name: N, source: string, time: Date, data: Record<string, unknown>) =>
    createEvent({ name, source, time, correlationId: r.id, data: { ...data, requestId: r.id, projectId: r.project_id } as never });
  const created = r.created_at.toISOString();
  const request = { ...t.request, requestId: r.id, projectId: r.project_id, componentName: r.component_name, version: r.version, requester: r.requester, timestamp: created, receivedAt: created };
  const assessedAt = at(r.created_at, 200);
  const events: CloudEventEnvelope[] = [
    event('deployment.requested', 'intake', r.created_at, request),
    event('risk.assessed', 'risk', assessedAt, { ...t.risk, overallScore: r.score, assessedAt: assessedAt.toISOString(), request }),
    event('review.classified', 'coe', at(r.created_at, 300), { tierLevel: r.tier, governanceRequired: r.tier > 0, triggers: [], tierReasons: ['history'], classifiedAt: at(r.created_at, 300).toISOString() }),
  ];
  for (const a of r.assignments ?? []) {
    events.push(event('review.assigned', 'coe', new Date(a.assigned_at), { assignmentId: a.id, expertId: a.expert_id, tierLevel: r.tier }));
    if (a.warned) events.push(event('sla.warning', 'sla', new Date(Date.parse(a.assigned_at) + 18 * 3_600_000), { assignmentId: a.id, expertId: a.expert_id }));
    events.push(event('review.completed', 'coe', new Date(a.completed_at), { assignmentId: a.id, expertId: a.expert_id, decision: a.decision }));
  }
  events.push(event('compliance.evaluated', 'compliance', at(r.decided_at, -100), { passed: true, pending: false, controls: [] }));
  events.push(
    event('decision.made', 'coe', r.decided_at, {
      ...t.decision, componentName: r.component_name, version: r.version, outcome: r.outcome, approved: r.approved, tierLevel: r.tier, riskScore: r.score, decidedAt: r.decided_at.toISOString(),
    }),
  );
  return events.sort((a, b) => a.time.localeCompare(b.time));
}

/**
 * Chains every request's events after the current head, oldest request first, with compliance's hashing; one
 * chunk is hashed here while the previous one is being inserted.
 */
async function writeAuditChain(db: Queryable, shape: HistoryShape, json: ReturnType<typeof templates>): Promise<number> {
  const t: EventTemplates = { request: JSON.parse(json.request), risk: JSON.parse(json.risk), decision: JSON.parse(json.decision) };
  const [head] = await db.query<{ sequence: string; entry_hash: string }>(`SELECT "sequence", "entry_hash" FROM "compliance"."chain_head"`);
  let sequence = Number(head!.sequence);
  let previousHash = head!.entry_hash;
  let inserting: Promise<unknown> = Promise.resolve();
  for (let lo = 1; lo <= shape.requests; lo += shape.chunk) {
    const facts = await db.query<AuditFacts>(
      `SELECT h.id, h.project_id, h.component_name, h.version, h.requester, h.tier, h.outcome, h.approved, h.score, h.created_at, h.decided_at,
              (SELECT json_agg(json_build_object('id', a.id, 'expert_id', a.expert_id, 'decision', a.decision, 'assigned_at', ${STAGING}.iso(a.assigned_at),
                      'completed_at', ${STAGING}.iso(a.completed_at), 'warned', a.warned) ORDER BY a.n)
                 FROM ${STAGING}."assignments" a WHERE a.i = h.i) AS assignments
         FROM ${STAGING}."requests" h WHERE h.i BETWEEN $1 AND $2 ORDER BY h.i`,
      [lo, lo + shape.chunk - 1],
    );
    let columns: unknown[][] = [];
    const flush = async () => {
      await inserting;
      inserting = db.query(
        `INSERT INTO "compliance"."audit_entries" ("sequence", "event_id", "event_type", "subject", "correlation_id", "occurred_at", "recorded_at", "payload", "previous_hash", "content_hash", "entry_hash")
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
        columns,
      );
      columns = Array.from({ length: 11 }, () => []);
    };
    columns = Array.from({ length: 11 }, () => []);
    for (const fact of facts) {
      for (const e of auditedEvents(fact, t)) {
        sequence += 1;
        const payload = canonicalJson(e);
        // Recorded by the chainer a moment after the event happened.
        const recordedAt = new Date(Date.parse(e.time) + 50).toISOString();
        const entry = chainEntry({ sequence, eventId: e.id, eventType: e.type, subject: e.subject, correlationId: e.correlationid, occurredAt: e.time, recordedAt, payload: new CanonicalJsonText(payload) }, previousHash);
        previousHash = entry.entryHash;
        [sequence, e.id, e.type, e.subject, e.correlationid, e.time, recordedAt, payload, entry.previousHash, entry.contentHash, entry.entryHash].forEach((value, i) => columns[i]!.push(value));
      }
      // Statements of a few megabytes: one per chunk of requests would be hundreds.
      if (columns[0]!.length >= AUDIT_BATCH) await flush();
    }
    if (columns[0]!.length) await flush();
  }
  await inserting;
  await db.query(`UPDATE "compliance"."chain_head" SET "sequence" = $1, "entry_hash" = $2`, [sequence, previousHash]);
  return sequence - Number(head!.sequence);
}

/**
 * Writes the history into a database whose services' migrations ran and whose services are stopped (the audit
 * chain continues from its head, which nothing else may move meanwhile). `progress` hears each phase.
 */
export async function preloadHistory(db: Queryable, shape: HistoryShape, progress: (message: string) => void = () => undefined): Promise<PreloadReport> {
  const started = performance.now();
  const json = templates();
  await drawFacts(db, shape);
  progress(`drew ${shape.requests.toLocaleString('en-US')} requests over ${shape.years} years`);
  for (let lo = 1; lo <= shape.requests; lo += shape.chunk) {
    for (const statement of CHUNK_STATEMENTS) {
      // Each statement uses only the parameters its SQL names; pg refuses unused ones, so pass exactly those.
      const used = [...new Set([...statement.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
      const all = [lo, lo + shape.chunk - 1, json.request, json.risk, json.features, json.decision];
      await db.query(renumber(statement.sql, used), used.map((n) => all[n - 1]));
    }
    if ((lo - 1) % (shape.chunk * 10) === 0) progress(`service rows up to request ${Math.min(shape.requests, lo + shape.chunk - 1).toLocaleString('en-US')}`);
  }
  await writeHistoryStats(db, shape.now);
  await writeRecentInboxes(db, shape.now);
  progress('service rows written; chaining the audit trail');
  const auditEntries = await writeAuditChain(db, shape, json);
  await db.query(`DROP SCHEMA ${STAGING} CASCADE`);
  // Fresh statistics, as autovacuum would have them after years: plans are those of a settled database.
  for (const table of SERVICE_TABLES) await db.query(`VACUUM ANALYZE ${table.split('.').map((part) => `"${part}"`).join('.')}`);
  const rows: Record<string, number> = {};
  for (const table of SERVICE_TABLES) {
    const [count] = await db.query<{ n: string }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = $1::regclass`, [table.split('.').map((part) => `"${part}"`).join('.')]);
    rows[table] = Number(count?.n ?? 0);
  }
  const [size] = await db.query<{ bytes: string }>(`SELECT pg_database_size(current_database()) AS bytes`);
  return { seconds: (performance.now() - started) / 1000, rows, auditEntries, databaseBytes: Number(size!.bytes) };
}

/** Renumbers `$n` placeholders to 1… in the order of `used` (the parameters a statement names). */
function renumber(sql: string, used: number[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${used.indexOf(Number(n)) + 1}`);
}
