import { Injectable } from '@nestjs/common';
import { MetricsService } from '@agf/platform';
import type { Counter } from 'prom-client';

@Injectable()
export class ComplianceMetrics {
  readonly audited: Counter<'type'>;
  readonly evaluations: Counter<'result'>;
  readonly chained: Counter;

  constructor(metrics: MetricsService) {
    this.audited = metrics.counter('agf_compliance_audit_entries_total', 'Events recorded for the audit chain, by CloudEvents type', ['type']);
    this.chained = metrics.counter('agf_compliance_audit_chained_total', 'Audit entries appended to the hash chain', []);
    this.evaluations = metrics.counter('agf_compliance_evaluations_total', 'Control evaluations published, by result', ['result']);
  }
}
