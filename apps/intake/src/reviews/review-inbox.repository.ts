import { Injectable } from '@nestjs/common';
import { type FiredTrigger, LIMITS, type RequestStatus, type ReviewInboxItem } from '@agf/contracts';
import { DataSource } from 'typeorm';
import { type AssignmentRow, cancellationOf, isUuid } from '../requests/request-view.repository';

/** Where a page of an inbox starts: after this (group, key, id); `group` 0 holds open assignments, 1 the rest. */
export interface InboxCursor {
  group: 0 | 1;
  /** Microseconds: the SLA due time of an open assignment, minus the assignment time of a closed one. */
  key: string;
  id: string;
}

interface InboxRow extends AssignmentRow {
  project_id: string;
  component_name: string;
  version: string;
  requester: string;
  request_status: RequestStatus;
  changes: string[];
  change_count: number;
  risk: { overallScore: number; riskFactors: string[] } | null;
  triggers: FiredTrigger[] | null;
  decided_at: string | null;
  group: 0 | 1;
  sort_key: string;
}

const OPEN = `a."status" IN ('pending', 'breached')`;

/**
 * A reviewer's assignments from intake's read model, most urgent first: the open ones by SLA due time, then
 * (`status=all`) the closed ones newest first. Keyset paging on (group, key, id), each computed in SQL to the
 * microsecond, so that a page boundary never skips or repeats an assignment.
 */
@Injectable()
export class ReviewInboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  async page(expertIds: readonly string[], status: 'pending' | 'all', limit: number, after: InboxCursor | undefined): Promise<{ items: ReviewInboxItem[]; next: InboxCursor | undefined }> {
    if (!expertIds.length) return { items: [], next: undefined };
    const rows: InboxRow[] = await this.dataSource.query(
      `${SELECT_ITEMS}
        WHERE a."expert_id" = ANY($1::text[]) AND a."role" <> 'unknown' AND ($2::text = 'all' OR ${OPEN})
          AND ($3::int IS NULL OR (${GROUP}, ${SORT_KEY}, a."id") > ($3::int, $4::bigint, $5::uuid))
        ORDER BY ${GROUP}, ${SORT_KEY}, a."id"
        LIMIT $6`,
      [expertIds, status, after?.group ?? null, after?.key ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toInboxItem), next: rows.length > limit && last ? { group: last.group, key: last.sort_key, id: last.id } : undefined };
  }

  async item(assignmentId: string): Promise<ReviewInboxItem | undefined> {
    if (!isUuid(assignmentId)) return undefined;
    const rows: InboxRow[] = await this.dataSource.query(`${SELECT_ITEMS} WHERE a."id" = $1 AND a."role" <> 'unknown'`, [assignmentId]);
    return rows[0] && toInboxItem(rows[0]);
  }
}

const GROUP = `(CASE WHEN ${OPEN} THEN 0 ELSE 1 END)`;
const SORT_KEY = `(CASE WHEN ${OPEN} THEN (extract(epoch FROM a."sla_due_at") * 1000000)::bigint ELSE -(extract(epoch FROM a."assigned_at") * 1000000)::bigint END)`;

const SELECT_ITEMS = `
  SELECT a.*, r."project_id", r."component_name", r."version", r."requester", r."status" AS "request_status",
         jsonb_path_query_array(r."request"->'changes', '$[0 to ${LIMITS.inboxChangesShown - 1}]') AS "changes",
         jsonb_array_length(COALESCE(r."request"->'changes', '[]')) AS "change_count",
         CASE WHEN r."risk" IS NULL THEN NULL ELSE jsonb_build_object('overallScore', r."risk"->'overallScore', 'riskFactors', r."risk"->'riskFactors') END AS "risk",
         COALESCE(r."classification"->'triggers', r."decision"->'triggers') AS "triggers", r."decision"->>'decidedAt' AS "decided_at",
         ${GROUP} AS "group", ${SORT_KEY}::text AS "sort_key"
    FROM "intake"."assignments" a JOIN "intake"."requests" r ON r."id" = a."request_id"`;

function toInboxItem(row: InboxRow): ReviewInboxItem {
  const open = row.status === 'pending' || row.status === 'breached';
  const detail = row.purpose_detail ?? {};
  return {
    assignmentId: row.id,
    requestId: row.request_id,
    projectId: row.project_id,
    componentName: row.component_name,
    version: row.version,
    requester: row.requester,
    changes: row.changes,
    changeCount: row.change_count,
    risk: row.risk,
    tierLevel: row.tier_level,
    triggers: row.triggers ?? [],
    asked: { expertId: row.expert_id, expertType: row.expert_type, role: row.role, scope: row.scope ?? [] },
    purpose: row.purpose,
    escalation: row.purpose === 'escalation' ? (detail as ReviewInboxItem['escalation']) : null,
    emergency: row.purpose === 'after-the-fact' ? (detail as ReviewInboxItem['emergency']) : null,
    status: row.status,
    cancellation: cancellationOf(row, row.decided_at ?? undefined),
    requestStatus: row.request_status,
    assignedAt: row.assigned_at.toISOString(),
    slaDueAt: row.sla_due_at.toISOString(),
    timeLeftSeconds: open ? Math.round((row.sla_due_at.getTime() - Date.now()) / 1000) : null,
  };
}

export function encodeCursor(cursor: InboxCursor): string {
  return Buffer.from(JSON.stringify([cursor.group, cursor.key, cursor.id])).toString('base64url');
}

/** The cursor a page gave, or undefined when the text is not one. */
export function decodeCursor(text: string): InboxCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 3) return undefined;
    const [group, key, id] = value as unknown[];
    if ((group !== 0 && group !== 1) || typeof key !== 'string' || !/^-?\d{1,19}$/.test(key) || typeof id !== 'string' || !isUuid(id)) return undefined;
    return { group, key, id };
  } catch {
    return undefined;
  }
}
