import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import type { Counter } from 'prom-client';

/** Domain figures of the CoE: decisions by outcome and tier, assignments, SLA breaches, rejected answers. */
@Injectable()
export class GovernanceMetrics {
  readonly decisions: Counter<'outcome' | 'tier'>;
  readonly assignments: Counter<'expert_type' | 'role'>;
  readonly breaches: Counter<'action'>;
  readonly reviewsRejected: Counter<'code'>;
  readonly escalations: Counter<'reason' | 'level'>;

  constructor(metrics: MetricsService) {
    this.decisions = metrics.counter('agf_decisions_total', 'Decisions by outcome and tier', ['outcome', 'tier']);
    this.assignments = metrics.counter('agf_review_assignments_total', 'Expert assignments by expert type and role', ['expert_type', 'role']);
    this.breaches = metrics.counter('agf_sla_breaches_handled_total', 'SLA breaches and what CoE did about them', ['action']);
    this.reviewsRejected = metrics.counter('agf_reviews_rejected_total', 'Expert answers the CoE did not take, by reason', ['code']);
    this.escalations = metrics.counter('agf_escalations_total', 'Requests given to a person of the escalation chain to decide, by reason and chain level', ['reason', 'level']);
  }
}
