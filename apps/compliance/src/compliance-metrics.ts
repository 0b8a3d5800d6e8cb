import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import type { Counter } from 'prom-client';

@Injectable()
export class ComplianceMetrics {
  readonly audited: Counter<'type'>;
  readonly evaluations: Counter<'result'>;
  readonly chained: Counter;

  constructor(metrics: MetricsService) {
    this.audited = metrics.counter('agf_compliance_audit_entries_total', 'Events appended to the audit chain by its handlers, by CloudEvents type', ['type']);
    this.chained = metrics.counter('agf_compliance_audit_chained_total', 'Audit entries appended to the hash chain (with those an earlier version left in audit_pending)', []);
    this.evaluations = metrics.counter('agf_compliance_evaluations_total', 'Control evaluations published, by result', ['result']);
  }
}
