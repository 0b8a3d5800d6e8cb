import { Injectable, Logger } from '@nestjs/common';
import { newId, type ReviewAssigned, type ReviewCancelled } from '@agf/contracts';
import { type ExpertCandidate, pickExpert, requestAreas } from '@agf/coe-domain';
import type { Transaction } from '@agf/messaging';
import { type AssignmentRecord, coeRepository as repo, type ExpertRow } from '../coe.repository';

/**
 * Moves the pending human reviews of an expert who stops taking work (marked unavailable, away, or removed from
 * the registry) to another eligible expert, routed as a first assignment is: the old assignment is cancelled
 * (`review.cancelled`, with the replacement's id) and the new one announced (`review.assigned`, superseding
 * it, so its SLA timer replaces the old one), in the caller's transaction. A review nobody else can take stays
 * where it is: its SLA breach then moves it on, as for any other. It runs before the registry row is updated,
 * so that it locks requests before expert rows, in the order the review workflow does.
 */
@Injectable()
export class ExpertHandOver {
  private readonly logger = new Logger('expert-registry');

  /** The number of reviews handed over. */
  async handOver(tx: Transaction, expertId: string, reason: ReviewCancelled['reason']): Promise<number> {
    const open: { request_id: string }[] = await tx.manager.query(
      `SELECT DISTINCT "request_id" FROM "coe"."assignments" WHERE "expert_id" = $1 AND "status" = 'pending' AND "expert_kind" = 'human' ORDER BY "request_id"`,
      [expertId],
    );
    let handed = 0;
    const now = new Date();
    for (const { request_id: requestId } of open) {
      const request = await repo.lockRequest(tx.manager, requestId);
      if (!request || (await repo.isDecided(tx.manager, requestId))) continue;
      const assignments = await repo.assignments(tx.manager, requestId);
      for (const old of assignments.filter((a) => a.expertId === expertId && a.status === 'pending' && a.expertKind === 'human')) {
        const experts = (await repo.experts(tx.manager)).map(candidateOf);
        const next = pickExpert(experts, { role: old.role, expertType: old.expertType }, {
          requester: request.requester,
          now,
          areas: requestAreas(request.request, request.triggers),
          excluded: new Set(assignments.map((a) => a.expertId)),
        });
        if (!next || !(await repo.takeSlot(tx.manager, next.id))) {
          this.logger.warn(`review ${old.assignmentId} of ${expertId} stays: nobody else can take it (its SLA moves it on)`);
          continue;
        }
        const replacement: AssignmentRecord = {
          ...old,
          assignmentId: newId(),
          expertId: next.id,
          expertKind: next.type,
          runtime: next.runtime,
          scope: [...old.scope, `handed over from ${expertId} (${reason})`],
          assignedAt: now.toISOString(),
          slaDueAt: new Date(now.getTime() + old.slaHours * 3_600_000).toISOString(),
          status: 'pending',
          supersedesAssignmentId: old.assignmentId,
        };
        await repo.setAssignmentStatus(tx.manager, old.assignmentId, 'cancelled');
        await repo.releaseSlot(tx.manager, expertId);
        await repo.insertAssignment(tx.manager, replacement);
        assignments.push(replacement);
        const cancelled: ReviewCancelled = {
          requestId,
          projectId: request.projectId,
          assignmentId: old.assignmentId,
          expertId,
          reason,
          replacedByAssignmentId: replacement.assignmentId,
          cancelledAt: now.toISOString(),
        };
        tx.emit({ name: 'review.cancelled', correlationId: requestId, data: cancelled });
        const assigned: ReviewAssigned = {
          requestId,
          projectId: request.projectId,
          assignmentId: replacement.assignmentId,
          expertId: replacement.expertId,
          expertType: replacement.expertType,
          expertKind: replacement.expertKind,
          role: replacement.role,
          scope: replacement.scope,
          tierLevel: replacement.tierLevel,
          priority: replacement.priority,
          slaHours: replacement.slaHours,
          assignedAt: replacement.assignedAt,
          slaDueAt: replacement.slaDueAt,
          supersedesAssignmentId: old.assignmentId,
        };
        tx.emit({ name: 'review.assigned', correlationId: requestId, data: assigned });
        handed += 1;
      }
    }
    return handed;
  }
}

function candidateOf(row: ExpertRow): ExpertCandidate {
  return {
    id: row.id,
    type: row.kind,
    specialties: row.specialties,
    capacity: row.capacity,
    level: row.level,
    runtime: row.runtime,
    expertType: row.expert_type,
    openReviews: row.open_reviews,
    principal: row.principal,
    available: row.available,
    away: row.away_from && row.away_until ? { from: row.away_from.toISOString(), until: row.away_until.toISOString() } : null,
  };
}
