import { Injectable } from '@nestjs/common';
import type { DeliveryFigures, InsightsReport } from '@agf/contracts';
import { DataSource } from 'typeorm';

export interface InsightsPeriod {
  from: Date;
  to: Date;
  /** Only this project's requests; undefined: every project. */
  projectId?: string;
}

interface FigureRow {
  project_id: string | null;
  decisions: number;
  outcomes: Record<string, number> | null;
  lead_p50: number | null;
  lead_p90: number | null;
}

/**
 * Aggregates over intake's read model for the console's dashboards: the read model is intake's, so the
 * figures are computed here rather than by anyone reading intake's schema.
 */
@Injectable()
export class InsightsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async report(period: InsightsPeriod): Promise<InsightsReport> {
    const params = [period.from.toISOString(), period.to.toISOString(), period.projectId ?? null];
    const days = Math.max((period.to.getTime() - period.from.getTime()) / 86_400_000, 1 / 24);
    const [decisionRows, slaRows, outcomeRows, daily, escalations, experts] = await Promise.all([
      this.dataSource.query<FigureRow[]>(
        `WITH d AS (
           SELECT "project_id", "decision"->>'outcome' AS outcome,
                  EXTRACT(EPOCH FROM (("decision"->>'decidedAt')::timestamptz - "created_at")) AS lead
             FROM "intake"."requests"
            WHERE "decision" IS NOT NULL AND ("decision"->>'decidedAt')::timestamptz >= $1 AND ("decision"->>'decidedAt')::timestamptz < $2
              AND ($3::text IS NULL OR "project_id" = $3))
         SELECT g."project_id", g.decisions::int, g.lead_p50, g.lead_p90, o.outcomes
           FROM (SELECT "project_id", count(*) AS decisions,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY lead) AS lead_p50,
                        percentile_cont(0.9) WITHIN GROUP (ORDER BY lead) AS lead_p90
                   FROM d GROUP BY GROUPING SETS (("project_id"), ())) g
           LEFT JOIN LATERAL (SELECT jsonb_object_agg(outcome, n) AS outcomes
                                FROM (SELECT outcome, count(*)::int AS n FROM d
                                       WHERE g."project_id" IS NULL OR d."project_id" = g."project_id" GROUP BY outcome) x) o ON true`,
        params,
      ),
      this.dataSource.query<Array<{ project_id: string | null; due: number; kept: number }>>(
        `SELECT r."project_id", count(*)::int AS due,
                count(*) FILTER (WHERE a."completed_at" IS NOT NULL AND a."completed_at" <= a."sla_due_at")::int AS kept
           FROM "intake"."assignments" a JOIN "intake"."requests" r ON r."id" = a."request_id"
          WHERE a."sla_due_at" >= $1 AND a."sla_due_at" < LEAST($2::timestamptz, now()) AND a."status" <> 'cancelled'
            AND ($3::text IS NULL OR r."project_id" = $3)
          GROUP BY GROUPING SETS ((r."project_id"), ())`,
        params,
      ),
      this.dataSource.query<Array<{ project_id: string | null; reported: number; failed: number; succeeded: number }>>(
        `SELECT r."project_id", count(*)::int AS reported,
                count(*) FILTER (WHERE o."status" IN ('failed', 'rolled_back'))::int AS failed,
                count(*) FILTER (WHERE o."status" = 'succeeded')::int AS succeeded
           FROM "intake"."outcomes" o JOIN "intake"."requests" r ON r."id" = o."request_id"
          WHERE o."reported_at" >= $1 AND o."reported_at" < $2 AND ($3::text IS NULL OR r."project_id" = $3)
          GROUP BY GROUPING SETS ((r."project_id"), ())`,
        params,
      ),
      this.dataSource.query<Array<{ day: string; decisions: number }>>(
        `SELECT to_char(date_trunc('day', ("decision"->>'decidedAt')::timestamptz AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::int AS decisions
           FROM "intake"."requests"
          WHERE "decision" IS NOT NULL AND ("decision"->>'decidedAt')::timestamptz >= $1 AND ("decision"->>'decidedAt')::timestamptz < $2
            AND ($3::text IS NULL OR "project_id" = $3)
          GROUP BY 1 ORDER BY 1`,
        params,
      ),
      this.dataSource.query<Array<{ id: string; project_id: string; component_name: string; requester: string; escalation: Record<string, unknown> }>>(
        `SELECT "id", "project_id", "component_name", "requester", "escalation" FROM "intake"."requests"
          WHERE "escalation" IS NOT NULL AND "decision" IS NULL AND ($3::text IS NULL OR "project_id" = $3)
            AND "created_at" < $2 AND $1::timestamptz IS NOT NULL
          ORDER BY "escalation"->>'dueAt' NULLS LAST LIMIT 200`,
        params,
      ),
      this.dataSource.query<Array<{ expert_id: string; expert_kind: 'human' | 'automated'; open: number; overdue: number; answered: number; p50: number | null; p90: number | null }>>(
        `SELECT a."expert_id", min(a."expert_kind") AS expert_kind,
                count(*) FILTER (WHERE a."status" IN ('pending', 'breached'))::int AS open,
                count(*) FILTER (WHERE a."status" IN ('pending', 'breached') AND a."sla_due_at" < now())::int AS overdue,
                count(*) FILTER (WHERE a."completed_at" >= $1 AND a."completed_at" < $2)::int AS answered,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (a."completed_at" - a."assigned_at")))
                  FILTER (WHERE a."completed_at" >= $1 AND a."completed_at" < $2) AS p50,
                percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (a."completed_at" - a."assigned_at")))
                  FILTER (WHERE a."completed_at" >= $1 AND a."completed_at" < $2) AS p90
           FROM "intake"."assignments" a JOIN "intake"."requests" r ON r."id" = a."request_id"
          WHERE ($3::text IS NULL OR r."project_id" = $3)
            AND (a."status" IN ('pending', 'breached') OR (a."completed_at" >= $1 AND a."completed_at" < $2))
          GROUP BY a."expert_id" ORDER BY a."expert_id"`,
        params,
      ),
    ]);

    const projectIds = new Set([...decisionRows, ...slaRows, ...outcomeRows].flatMap((row) => (row.project_id === null ? [] : [row.project_id])));
    const figuresOf = (projectId: string | null): DeliveryFigures => {
      const decided = decisionRows.find((row) => row.project_id === projectId);
      const sla = slaRows.find((row) => row.project_id === projectId);
      const outcomes = outcomeRows.find((row) => row.project_id === projectId);
      return {
        decisionsByOutcome: decided?.outcomes ?? {},
        decisions: decided?.decisions ?? 0,
        leadTimeSeconds: { p50: roundOrNull(decided?.lead_p50), p90: roundOrNull(decided?.lead_p90) },
        slaCompliancePercent: sla && sla.due > 0 ? round((100 * sla.kept) / sla.due) : null,
        changeFailureRatePercent: outcomes && outcomes.reported > 0 ? round((100 * outcomes.failed) / outcomes.reported) : null,
        deploymentsPerDay: round((outcomes?.succeeded ?? 0) / days),
      };
    };
    return {
      from: period.from.toISOString(),
      to: period.to.toISOString(),
      overall: figuresOf(null),
      projects: [...projectIds].sort().map((projectId) => ({ projectId, ...figuresOf(projectId) })),
      daily,
      escalations: escalations.map((row) => ({
        requestId: row.id,
        projectId: row.project_id,
        componentName: row.component_name,
        requester: row.requester,
        level: Number(row.escalation['level'] ?? 1),
        reason: String(row.escalation['reason'] ?? ''),
        detail: String(row.escalation['detail'] ?? ''),
        dueAt: typeof row.escalation['dueAt'] === 'string' ? row.escalation['dueAt'] : null,
        escalatedAt: typeof row.escalation['escalatedAt'] === 'string' ? row.escalation['escalatedAt'] : null,
      })),
      experts: experts.map((row) => ({
        expertId: row.expert_id,
        expertKind: row.expert_kind,
        open: row.open,
        overdue: row.overdue,
        answered: row.answered,
        answerSeconds: { p50: roundOrNull(row.p50), p90: roundOrNull(row.p90) },
      })),
    };
  }
}

const round = (value: number): number => Math.round(value * 100) / 100;
const roundOrNull = (value: number | null | undefined): number | null => (value === null || value === undefined ? null : round(Number(value)));
