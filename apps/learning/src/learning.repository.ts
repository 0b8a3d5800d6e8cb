import type { DecisionMade, DeploymentRequest, LearningModelUpdated, RiskAssessed } from '@agf/contracts';
import { type FeatureVector, type OutcomeCounts, type OutcomeStatus, recentWindow } from '@agf/learning-domain';
import { onePerKey } from '@agf/messaging';
import type { EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'>;

/** The risk scores kept per pattern; `revision` lets a re-assessment replace an older one. */
export interface StoredRisk {
  overallScore: number;
  securityScore: number;
  complexityScore: number;
  impactScore: number;
  historicalScore: number;
  confidence: number;
  revision: number;
}

export interface PatternRow {
  requestId: string;
  projectId: string;
  componentName: string;
  request: DeploymentRequest | null;
  risk: StoredRisk | null;
  features: FeatureVector | null;
  decision: DecisionMade | null;
  decisionOutcome: DecisionMade['outcome'] | null;
  tierLevel: DecisionMade['tierLevel'] | null;
  deploymentOutcome: OutcomeStatus | null;
  outcomeReportedAt: Date | null;
  decidedAt: Date | null;
  captured: boolean;
}

export interface SimilarCandidate {
  requestId: string;
  projectId: string;
  componentName: string;
  version: string | null;
  features: FeatureVector;
  riskScore: number | null;
  tierLevel: number | null;
  decisionOutcome: string | null;
  deploymentOutcome: string | null;
}

/** A pattern just captured, as `learning.pattern.captured` tells it. */
export interface CompletedPattern {
  requestId: string;
  projectId: string;
  componentName: string;
  features: FeatureVector;
  /** The assessment's overall score, or the decision's when no assessment was stored. */
  riskScore: number;
  tierLevel: DecisionMade['tierLevel'];
  decisionOutcome: DecisionMade['outcome'];
  deploymentOutcome: OutcomeStatus | null;
  publishedHistoryIsCurrent: boolean;
}

/** Columns of a pattern row and the `PatternRow` field each is read into. */
const PATTERN_FIELDS = [
  ['request_id', 'requestId'], ['project_id', 'projectId'], ['component_name', 'componentName'], ['request', 'request'], ['risk', 'risk'],
  ['features', 'features'], ['decision', 'decision'], ['decision_outcome', 'decisionOutcome'], ['tier_level', 'tierLevel'],
  ['deployment_outcome', 'deploymentOutcome'], ['outcome_reported_at', 'outcomeReportedAt'], ['decided_at', 'decidedAt'], ['captured', 'captured'],
] as const satisfies ReadonlyArray<readonly [string, keyof PatternRow]>;

const PATTERN_COLUMNS = PATTERN_FIELDS.map(([column, field]) => (column === field ? `"${column}"` : `"${column}" AS "${field}"`)).join(', ');

/**
 * SQL condition: a decision can leave the published history as it is: the component's history was published,
 * and no history published for the project counts a recent incident (so nothing can leave the recent window
 * with time). Outcomes always change the history, and publish it themselves.
 */
function historyIsCurrent(projectId: string, componentName: string): string {
  return `(EXISTS (SELECT 1 FROM "learning"."published_models" WHERE "project_id" = ${projectId} AND "component_name" = ${componentName})
      AND NOT EXISTS (SELECT 1 FROM "learning"."published_models" WHERE "project_id" = ${projectId}
                       AND (("project_stats"->>'recentIncidents')::int > 0 OR ("component_stats"->>'recentIncidents')::int > 0)))`;
}

/** The request ids of `RETURNING "request_id", … AS "capturable"` rows that are capturable. */
function capturable(rows: Array<{ request_id: string; capturable?: boolean }>): Set<string> {
  return new Set(rows.filter((row) => row.capturable).map((row) => row.request_id));
}

/** Upper bound of rows the similarity scan loads, so memory and time stay bounded as history grows. */
export const SIMILAR_CANDIDATE_SCAN = 5000;

const SIMILAR_CANDIDATE_COLUMNS = `"request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName",
  COALESCE("request"->>'version', "decision"->>'version') AS "version", "features",
  ("risk"->>'overallScore')::double precision AS "riskScore", "tier_level" AS "tierLevel",
  "decision_outcome" AS "decisionOutcome", "deployment_outcome" AS "deploymentOutcome"`;

/**
 * Of the newest SIMILAR_CANDIDATE_SCAN patterns of the given projects (`all`, or a list), those with features,
 * newest first (request ids are UUIDv7s). The newest ids come from an index alone (`patterns_recent_by_project`
 * walked backward for each project, the primary key for all), then only their rows are read: the read stops at
 * the cap however long the history. With a plain `ORDER BY … LIMIT` on the rows the planner, which sizes a
 * project at a thousandth of the table, read and sorted every pattern of a busy one (about 35,000 rows and 0.8 s
 * in `npm run bench:history`).
 */
export function similarCandidatesQuery(excludeRequestId: string, projects: 'all' | string[]): [string, unknown[]] {
  const newest =
    projects === 'all'
      ? `SELECT "request_id" FROM "learning"."patterns" WHERE "request_id" <> $1 ORDER BY "request_id" DESC LIMIT ${SIMILAR_CANDIDATE_SCAN}`
      : // One walk per project: Postgres 15 does not read `project_id = ANY(…)` from an index in id order.
        `SELECT "n"."request_id" FROM unnest($2::text[]) AS "p"("project_id")
         CROSS JOIN LATERAL (
           SELECT "request_id" FROM "learning"."patterns" WHERE "project_id" = "p"."project_id" AND "request_id" <> $1
            ORDER BY "request_id" DESC LIMIT ${SIMILAR_CANDIDATE_SCAN}) AS "n"
         ORDER BY "n"."request_id" DESC LIMIT ${SIMILAR_CANDIDATE_SCAN}`;
  return [
    `SELECT ${SIMILAR_CANDIDATE_COLUMNS} FROM (${newest}) AS "newest" JOIN "learning"."patterns" USING ("request_id")
      WHERE "features" IS NOT NULL ORDER BY "request_id" DESC`,
    projects === 'all' ? [excludeRequestId] : [excludeRequestId, [...new Set(projects)]],
  ];
}

/** SQL of the `learning` schema; writes run in the caller's (message) transaction. */
export const learningRepository = {
  async pattern(m: Queryable, requestId: string): Promise<PatternRow | undefined> {
    const rows: PatternRow[] = await m.query(`SELECT ${PATTERN_COLUMNS} FROM "learning"."patterns" WHERE "request_id" = $1`, [requestId]);
    return rows[0];
  },

  /**
   * Stores assessments unless an equal or newer revision is already here (of several for one request, the
   * newest), in one statement; returns the requests whose pattern now also has its decision and was not
   * captured yet (ready to capture).
   */
  async storeRisks(m: Queryable, assessments: Array<{ assessed: RiskAssessed; risk: StoredRisk; features: FeatureVector }>): Promise<Set<string>> {
    const newest = onePerKey(assessments, (a) => a.assessed.requestId, (a, b) => a.risk.revision > b.risk.revision);
    if (!newest.length) return new Set();
    const rows: { request_id: string }[] = await m.query(
      `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "request", "risk", "features")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::jsonb[])
       ON CONFLICT ("request_id") DO UPDATE SET "request" = EXCLUDED."request", "risk" = EXCLUDED."risk", "features" = EXCLUDED."features"
       WHERE "learning"."patterns"."risk" IS NULL OR ("learning"."patterns"."risk"->>'revision')::int < (EXCLUDED."risk"->>'revision')::int
       RETURNING "request_id", "decision" IS NOT NULL AND NOT "captured" AS "capturable"`,
      [
        newest.map((a) => a.assessed.requestId),
        newest.map((a) => a.assessed.projectId),
        newest.map((a) => a.assessed.request.componentName),
        newest.map((a) => JSON.stringify(a.assessed.request)),
        newest.map((a) => JSON.stringify(a.risk)),
        newest.map((a) => JSON.stringify(a.features)),
      ],
    );
    return capturable(rows);
  },

  /**
   * Stores decisions unless the same (or a later) one is already here (of several for one request, the
   * latest), in one statement; returns the requests whose pattern now also has its features and was not
   * captured yet (ready to capture).
   */
  async storeDecisions(m: Queryable, decisions: DecisionMade[]): Promise<Set<string>> {
    const latest = onePerKey(decisions, (d) => d.requestId, (a, b) => Date.parse(a.decidedAt) > Date.parse(b.decidedAt));
    if (!latest.length) return new Set();
    const rows: { request_id: string }[] = await m.query(
      `INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "decision", "decision_outcome", "tier_level", "decided_at")
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::smallint[], $7::timestamptz[])
       ON CONFLICT ("request_id") DO UPDATE SET "decision" = EXCLUDED."decision", "decision_outcome" = EXCLUDED."decision_outcome",
         "tier_level" = EXCLUDED."tier_level", "decided_at" = EXCLUDED."decided_at"
       WHERE "learning"."patterns"."decided_at" IS NULL OR "learning"."patterns"."decided_at" < EXCLUDED."decided_at"
       RETURNING "request_id", "features" IS NOT NULL AND NOT "captured" AS "capturable"`,
      [
        latest.map((d) => d.requestId),
        latest.map((d) => d.projectId),
        latest.map((d) => d.componentName),
        latest.map((d) => JSON.stringify(d)),
        latest.map((d) => d.outcome),
        latest.map((d) => d.tierLevel),
        latest.map((d) => d.decidedAt),
      ],
    );
    return capturable(rows);
  },

  /**
   * Records the first reported outcome and adds it to its component's running totals, in one statement; false
   * when one was already recorded (whatever it said), which leaves the totals as they are.
   */
  async storeOutcome(
    m: Queryable,
    outcome: { requestId: string; projectId: string; componentName: string; status: OutcomeStatus; reportedAt: string },
  ): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `WITH "stored" AS (
         INSERT INTO "learning"."patterns" ("request_id", "project_id", "component_name", "deployment_outcome", "outcome_reported_at")
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ("request_id") DO UPDATE SET "deployment_outcome" = EXCLUDED."deployment_outcome", "outcome_reported_at" = EXCLUDED."outcome_reported_at"
         WHERE "learning"."patterns"."deployment_outcome" IS NULL
         RETURNING "project_id", "component_name", "deployment_outcome", "outcome_reported_at")
       INSERT INTO "learning"."outcome_totals" AS t ("project_id", "component_name", "deployments", "failures", "rollbacks", "last_failure_at")
       SELECT "project_id", "component_name", 1, ("deployment_outcome" = 'failed')::int, ("deployment_outcome" = 'rolled_back')::int,
              CASE WHEN "deployment_outcome" IN ('failed', 'rolled_back') THEN "outcome_reported_at" END
         FROM "stored"
       ON CONFLICT ("project_id", "component_name") DO UPDATE SET "deployments" = t."deployments" + 1,
         "failures" = t."failures" + EXCLUDED."failures", "rollbacks" = t."rollbacks" + EXCLUDED."rollbacks",
         "last_failure_at" = GREATEST(t."last_failure_at", EXCLUDED."last_failure_at")
       RETURNING 1`,
      [outcome.requestId, outcome.projectId, outcome.componentName, outcome.status, outcome.reportedAt],
    );
    return rows.length === 1;
  },

  /**
   * Marks the patterns captured that have both their features and their decision, and returns them; those not
   * complete yet or captured already are left out. Also says, in the same statement, whether the history last
   * published for each one's project and component is still current (`historyIsCurrent`).
   */
  async captureIfComplete(m: Queryable, requestIds: string[]): Promise<CompletedPattern[]> {
    if (!requestIds.length) return [];
    // Only what the captured event says: not the stored request and decision documents (a few KB to parse per pattern).
    return m.query(
      `WITH "c" AS (
         UPDATE "learning"."patterns" SET "captured" = true
          WHERE "request_id" = ANY($1::uuid[]) AND NOT "captured" AND "features" IS NOT NULL AND "decision" IS NOT NULL
          RETURNING "request_id" AS "requestId", "project_id" AS "projectId", "component_name" AS "componentName", "features",
                    COALESCE(("risk"->>'overallScore')::float8, ("decision"->>'riskScore')::float8) AS "riskScore",
                    ("decision"->>'tierLevel')::int AS "tierLevel", "decision"->>'outcome' AS "decisionOutcome", "deployment_outcome" AS "deploymentOutcome")
       SELECT "c"."requestId", "c"."projectId", "c"."componentName", "c"."features", "c"."riskScore", "c"."tierLevel", "c"."decisionOutcome", "c"."deploymentOutcome",
              ${historyIsCurrent('"c"."projectId"', '"c"."componentName"')} AS "publishedHistoryIsCurrent"
         FROM "c"`,
      [requestIds],
    );
  },

  /**
   * Bumps the project's revision. The row lock it takes serialises the model updates of one project, so
   * history read after this call includes every update that got a lower revision.
   */
  async nextRevision(m: Queryable, projectId: string): Promise<number> {
    const rows: { revision: number }[] = await m.query(
      `INSERT INTO "learning"."project_revisions" ("project_id", "revision") VALUES ($1, 1)
       ON CONFLICT ("project_id") DO UPDATE SET "revision" = "learning"."project_revisions"."revision" + 1
       RETURNING "revision"`,
      [projectId],
    );
    return rows[0]!.revision;
  },

  /**
   * A project's outcome counts, and one component's (none for `null`), as `countOutcomes` defines them: the
   * totals from the components' running totals, the recent incidents counted over the window alone, so the read
   * does not grow with the project's history.
   */
  async outcomeCounts(m: Queryable, projectId: string, componentName: string | null, now: Date): Promise<{ project: OutcomeCounts; component: OutcomeCounts }> {
    const window = recentWindow(now);
    // One row per scope: the project's totals, and those of its component among them.
    const rows: Array<{ scope: 'project' | 'component'; deployments: number; failures: number; rollbacks: number; lastFailureAt: Date | null; recentIncidents: number }> =
      await m.query(
        `WITH "recent" AS (
           SELECT "component_name" FROM "learning"."patterns"
            WHERE "project_id" = $1 AND "deployment_outcome" IN ('failed', 'rolled_back') AND "outcome_reported_at" BETWEEN $2 AND $3)
         SELECT s."scope", coalesce(sum(t."deployments"), 0)::int AS "deployments", coalesce(sum(t."failures"), 0)::int AS "failures",
           coalesce(sum(t."rollbacks"), 0)::int AS "rollbacks", max(t."last_failure_at") AS "lastFailureAt",
           (SELECT count(*) FROM "recent" r WHERE s."scope" = 'project' OR r."component_name" = $4)::int AS "recentIncidents"
         FROM (VALUES ('project'), ('component')) AS s("scope")
         LEFT JOIN "learning"."outcome_totals" t ON t."project_id" = $1 AND (s."scope" = 'project' OR t."component_name" = $4)
         GROUP BY s."scope"`,
        [projectId, window.from, window.to, componentName],
      );
    const of = (scope: 'project' | 'component'): OutcomeCounts => {
      const row = rows.find((r) => r.scope === scope)!;
      return {
        deployments: row.deployments,
        failures: row.failures,
        rollbacks: row.rollbacks,
        lastFailureAt: row.lastFailureAt ? new Date(row.lastFailureAt).toISOString() : null,
        recentIncidents: row.recentIncidents,
      };
    };
    return { project: of('project'), component: of('component') };
  },

  /**
   * Records the history about to be published for a project and component; false when it equals the history
   * last published for them (jsonb equality: key order and number formatting do not count), so there is
   * nothing to publish.
   */
  async recordPublishedModel(m: Queryable, update: Pick<LearningModelUpdated, 'projectId' | 'componentName' | 'project' | 'component' | 'revision'>): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO "learning"."published_models" ("project_id", "component_name", "project_stats", "component_stats", "revision")
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ("project_id", "component_name") DO UPDATE
         SET "project_stats" = EXCLUDED."project_stats", "component_stats" = EXCLUDED."component_stats", "revision" = EXCLUDED."revision"
       WHERE ("learning"."published_models"."project_stats", "learning"."published_models"."component_stats")
             IS DISTINCT FROM (EXCLUDED."project_stats", EXCLUDED."component_stats")
       RETURNING 1`,
      [update.projectId, update.componentName, JSON.stringify(update.project), JSON.stringify(update.component), update.revision],
    );
    return rows.length === 1;
  },

  /** Patterns with features across the given projects (`all`, or a list): `similarCandidatesQuery`. */
  async similarCandidates(m: Queryable, excludeRequestId: string, projects: 'all' | string[]): Promise<SimilarCandidate[]> {
    const [text, parameters] = similarCandidatesQuery(excludeRequestId, projects);
    return m.query(text, parameters);
  },
};
