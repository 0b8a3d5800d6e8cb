/**
 * The statements the services run on their hot paths, as they write them (copied from the repositories named),
 * with sample values, for `EXPLAIN` on a database with years of history: each must find its rows through an
 * index, whatever the history's size.
 */
export interface HotPathStatement {
  name: string;
  sql: string;
  params: unknown[];
  /** The rows it reads by design (a page of a walk): not a cost of the history. */
  pageSize?: number;
}

export interface HotPathSamples {
  /** An old request of the busiest project. */
  requestId: string;
  projectId: string;
  componentName: string;
  expertId: string;
}

export function hotPathStatements(s: HotPathSamples): HotPathStatement[] {
  const open = `a."status" IN ('pending', 'breached')`;
  const timerOpen = `"fired_at" IS NULL AND "cancelled_at" IS NULL`;
  return [
    // intake: a request's story (requests/request-view.repository.ts, request-events/request-events.store.ts).
    { name: 'intake: request by id', sql: `SELECT * FROM "intake"."requests" WHERE "id" = $1`, params: [s.requestId] },
    { name: 'intake: assignments of a request', sql: `SELECT * FROM "intake"."assignments" WHERE "request_id" = $1 ORDER BY "assigned_at", "id"`, params: [s.requestId] },
    {
      name: 'intake: rejected answers of a request',
      sql: `SELECT "assignment_id", "expert_id", "code", "reason", "rejected_at" FROM (
              SELECT "event_id", "assignment_id", "expert_id", "code", "reason", "rejected_at" FROM "intake"."rejected_answers" WHERE "request_id" = $1 ORDER BY "rejected_at" DESC, "event_id" LIMIT 20) AS latest
            ORDER BY "rejected_at", "event_id"`,
      params: [s.requestId],
    },
    { name: 'intake: story events of a request', sql: `SELECT "seq", "type", "data", "recorded_at" FROM "intake"."request_events" WHERE "request_id" = $1 AND "seq" > $2 ORDER BY "seq" LIMIT $3`, params: [s.requestId, 0, 200] },
    {
      // The read model's lock of a batch's requests (read-model.projection.ts), with a one-step decision's metadata.
      name: "intake: lock a batch's requests",
      sql: `SELECT "id", CASE WHEN "id" = ANY($2::uuid[]) THEN "request"->'metadata' END AS "metadata" FROM "intake"."requests" WHERE "id" = ANY($1::uuid[]) ORDER BY "id" FOR UPDATE`,
      params: [[s.requestId], [s.requestId]],
    },
    { name: 'intake: next story seq', sql: `SELECT max(e."seq") FROM "intake"."request_events" e WHERE e."request_id" = $1`, params: [s.requestId] },
    {
      // reviews/review-inbox.repository.ts, open assignments only (the inbox's default view).
      name: "intake: a reviewer's open assignments",
      sql: `SELECT a.*, r."project_id", r."status" AS "request_status",
                   (CASE WHEN ${open} THEN 0 ELSE 1 END) AS "group"
              FROM "intake"."assignments" a JOIN "intake"."requests" r ON r."id" = a."request_id"
             WHERE a."expert_id" = ANY($1::text[]) AND a."role" <> 'unknown' AND ($2::text = 'all' OR ${open})
             ORDER BY (CASE WHEN ${open} THEN 0 ELSE 1 END),
                      (CASE WHEN ${open} THEN (extract(epoch FROM a."sla_due_at") * 1000000)::bigint ELSE -(extract(epoch FROM a."assigned_at") * 1000000)::bigint END), a."id"
             LIMIT $3`,
      params: [[s.expertId], 'pending', 51],
    },
    // messaging: inbox claims and the outbox relay (libs/messaging inbox.ts, outbox-relay.ts), in the largest inbox.
    {
      name: 'messaging: inbox claim',
      sql: `INSERT INTO "compliance"."inbox" ("consumer", "event_id") SELECT $1, "id" FROM unnest($2::text[]) AS "ids"("id") ORDER BY "id" RETURNING "event_id"`,
      params: ['compliance-audit', ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']],
    },
    { name: 'messaging: inbox lookup', sql: `SELECT 1 FROM "compliance"."inbox" WHERE "consumer" = $1 AND "event_id" = $2`, params: ['compliance-audit', '00000000-0000-4000-8000-000000000001'] },
    {
      name: 'messaging: inbox purge',
      sql: `SELECT "consumer", "event_id" FROM "compliance"."inbox" WHERE "processed_at" < now() - ($1::bigint * interval '1 millisecond') LIMIT $2`,
      params: [31 * 86_400_000, 5000],
    },
    { name: 'messaging: outbox unsent', sql: `SELECT "seq", "event_id", "subject", "payload", "headers" FROM "coe"."outbox" ORDER BY "seq" LIMIT $1`, params: [100] },
    // risk: the history of a request's project and component (risk.repository.ts).
    {
      name: 'risk: project and component history',
      sql: `WITH "wanted" AS (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS w("project_id", "component_name"))
            SELECT 'project' AS "kind", p."project_id", w."component_name", p."stats" FROM "wanted" w JOIN "risk"."project_history" p ON p."project_id" = w."project_id"
            UNION ALL
            SELECT 'component', c."project_id", c."component_name", c."stats" FROM "wanted" w JOIN "risk"."component_history" c ON c."project_id" = w."project_id" AND c."component_name" = w."component_name"`,
      params: [[s.projectId], [s.componentName]],
    },
    // coe (coe.repository.ts, registry/expert-hand-over.ts).
    { name: 'coe: assignments of a request', sql: `SELECT * FROM "coe"."assignments" WHERE "request_id" = $1 ORDER BY "assigned_at", "id"`, params: [s.requestId] },
    { name: 'coe: decision of a request', sql: `SELECT 1 FROM "coe"."decisions" WHERE "request_id" = $1`, params: [s.requestId] },
    {
      name: "coe: an expert's open human assignments",
      sql: `SELECT DISTINCT "request_id" FROM "coe"."assignments" WHERE "expert_id" = $1 AND "status" = 'pending' AND "expert_kind" = 'human' ORDER BY "request_id"`,
      params: [s.expertId],
    },
    // sla: claiming due timers and the next due time (timers.repository.ts).
    {
      name: 'sla: claim due timers',
      sql: `WITH "due" AS (SELECT "assignment_id", "kind" FROM "sla"."timers" WHERE "due_at" <= now() AND ${timerOpen} ORDER BY "due_at" LIMIT $1 FOR UPDATE SKIP LOCKED)
            UPDATE "sla"."timers" AS t SET "fired_at" = clock_timestamp() FROM "due" WHERE t."assignment_id" = "due"."assignment_id" AND t."kind" = "due"."kind" RETURNING t.*`,
      params: [500],
    },
    { name: 'sla: next due time', sql: `SELECT (SELECT min("due_at") FROM "sla"."timers" WHERE ${timerOpen}) AS "next", clock_timestamp() AS "now"`, params: [] },
    {
      // Any uuid shows the plan: the statement finds an assignment's timers by the primary key.
      name: "sla: cancel an assignment's timers",
      sql: `UPDATE "sla"."timers" t SET "cancelled_at" = now(), "cancel_reason" = 'review cancelled: decided' WHERE t."assignment_id" = $1 AND t."fired_at" IS NULL AND t."cancelled_at" IS NULL RETURNING 1`,
      params: [s.requestId],
    },
    // learning (learning.repository.ts).
    { name: 'learning: pattern by request', sql: `SELECT * FROM "learning"."patterns" WHERE "request_id" = $1`, params: [s.requestId] },
    {
      name: 'learning: published history is current',
      sql: `SELECT (EXISTS (SELECT 1 FROM "learning"."published_models" WHERE "project_id" = $1 AND "component_name" = $2)
              AND NOT EXISTS (SELECT 1 FROM "learning"."published_models" WHERE "project_id" = $1
                               AND (("project_stats"->>'recentIncidents')::int > 0 OR ("component_stats"->>'recentIncidents')::int > 0))) AS "current"`,
      params: [s.projectId, s.componentName],
    },
    {
      name: "learning: a project's outcome counts",
      sql: `WITH "recent" AS (
              SELECT "component_name" FROM "learning"."patterns"
               WHERE "project_id" = $1 AND "deployment_outcome" IN ('failed', 'rolled_back') AND "outcome_reported_at" BETWEEN $2 AND $3)
            SELECT s."scope", coalesce(sum(t."deployments"), 0)::int AS "deployments", coalesce(sum(t."failures"), 0)::int AS "failures",
              coalesce(sum(t."rollbacks"), 0)::int AS "rollbacks", max(t."last_failure_at") AS "lastFailureAt",
              (SELECT count(*) FROM "recent" r WHERE s."scope" = 'project' OR r."component_name" = $4)::int AS "recentIncidents"
            FROM (VALUES ('project'), ('component')) AS s("scope")
            LEFT JOIN "learning"."outcome_totals" t ON t."project_id" = $1 AND (s."scope" = 'project' OR t."component_name" = $4)
            GROUP BY s."scope"`,
      params: [s.projectId, new Date(Date.now() - 30 * 86_400_000), new Date(), s.componentName],
    },
    {
      name: 'learning: similar candidates',
      sql: `SELECT "request_id", "features", "decision_outcome", "deployment_outcome"
              FROM (SELECT "n"."request_id" FROM unnest($2::text[]) AS "p"("project_id")
                    CROSS JOIN LATERAL (
                      SELECT "request_id" FROM "learning"."patterns" WHERE "project_id" = "p"."project_id" AND "request_id" <> $1
                       ORDER BY "request_id" DESC LIMIT 5000) AS "n"
                    ORDER BY "n"."request_id" DESC LIMIT 5000) AS "newest"
              JOIN "learning"."patterns" USING ("request_id")
             WHERE "features" IS NOT NULL ORDER BY "request_id" DESC`,
      params: [s.requestId, [s.projectId]],
      pageSize: 5000, // SIMILAR_CANDIDATE_SCAN: the newest 5,000, however long the history
    },
    // compliance (audit.repository.ts, evaluation.repository.ts).
    {
      // The head read of an append (audit.repository.ts, personal-values.repository.ts `readColumns`): the events
      // already chained, the people of the changes and which of them are erased.
      name: 'compliance: chain head with what sealing reads',
      sql: `SELECT h."sequence", h."entry_hash",
              ARRAY(SELECT a."event_id" FROM "compliance"."audit_entries" a WHERE a."event_id" = ANY($1::text[])
                    UNION ALL SELECT p."event_id" FROM "compliance"."audit_pending" p WHERE p."event_id" = ANY($1::text[])) AS "known",
              (SELECT COALESCE(json_agg(json_build_array(c."correlation_id", c."person")), '[]'::json)
                 FROM "compliance"."change_people" c WHERE c."correlation_id" = ANY($2::text[])) AS "people",
              ARRAY(SELECT DISTINCT e."subject_commitment"::text FROM "compliance"."erasures" e
                     WHERE e."subject_commitment" = ANY($3::char(64)[] || ARRAY(SELECT c."person" FROM "compliance"."change_people" c
                                                                        WHERE c."correlation_id" = ANY($2::text[])))) AS "erased"
         FROM "compliance"."chain_head" h FOR UPDATE OF h`,
      params: [['00000000-0000-4000-8000-000000000001'], [s.requestId], ['0'.repeat(64)]],
    },
    {
      name: 'compliance: events already chained',
      sql: `SELECT a."event_id" FROM "compliance"."audit_entries" a WHERE a."event_id" = ANY($1::text[])
            UNION ALL SELECT p."event_id" FROM "compliance"."audit_pending" p WHERE p."event_id" = ANY($1::text[])`,
      params: [['00000000-0000-4000-8000-000000000001']],
    },
    { name: "compliance: a request's audit trail", sql: `SELECT * FROM "compliance"."audit_entries" WHERE "correlation_id" = $1 ORDER BY "sequence" LIMIT $2`, params: [s.requestId, 10_000] },
    { name: 'compliance: audit page (verify)', sql: `SELECT * FROM "compliance"."audit_entries" WHERE "sequence" > $1 ORDER BY "sequence" LIMIT $2`, params: [1000, 2000], pageSize: 2000 },
    { name: 'compliance: reviews of a request', sql: `SELECT * FROM "compliance"."reviews" WHERE "request_id" = $1`, params: [s.requestId] },
    { name: 'compliance: assignments of a request', sql: `SELECT * FROM "compliance"."assignments" WHERE "request_id" = $1`, params: [s.requestId] },
  ];
}

/** A node of an `EXPLAIN (FORMAT JSON)` plan. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  /** Given with `VERBOSE`. */
  Schema?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

export interface PlanVerdict {
  scans: string[];
  /** The most rows one node read (returned and filtered out): what grows with history when no index bounds it. */
  rowsRead: number;
  problems: string[];
}

/**
 * Judges a plan run with `ANALYZE, VERBOSE`: a sequential scan of a table above `largeTable` rows, or any node reading
 * more than `largeRead` rows, is a cost that grows with the history.
 */
export function judgePlan(root: PlanNode, tableRows: (table: string) => number, largeTable: number, largeRead: number): PlanVerdict {
  const scans: string[] = [];
  const problems: string[] = [];
  let rowsRead = 0;
  const visit = (node: PlanNode): void => {
    const loops = node['Actual Loops'] ?? 1;
    // A node the executor never reached (a join's inner side when the outer found nothing) cost nothing this time.
    if (loops === 0) {
      if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) scans.push(`Seq Scan on ${node.Schema ?? 'public'}.${node['Relation Name']} (planned, not run)`);
      return;
    }
    const read = ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops;
    rowsRead = Math.max(rowsRead, read);
    const table = node['Relation Name'] && `${node.Schema ?? 'public'}.${node['Relation Name']}`;
    if (table) scans.push(`${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''} on ${table}`);
    if (node['Node Type'] === 'Seq Scan' && table && tableRows(table) > largeTable) problems.push(`Seq Scan on ${table} (${tableRows(table).toLocaleString('en-US')} rows)`);
    else if (table && read > largeRead) problems.push(`${node['Node Type']} on ${table} reads ${read.toLocaleString('en-US')} rows`);
    node.Plans?.forEach(visit);
  };
  visit(root);
  return { scans, rowsRead, problems };
}
