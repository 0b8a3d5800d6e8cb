import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer';
import { AuditCheckpointer } from './audit-checkpointer';
import { AuditHttpController } from './audit.http.controller';
import { ComplianceMessageController } from './compliance.message.controller';
import { ComplianceMetrics } from './compliance-metrics';
import { ReportsHttpController } from './evidence/reports.http.controller';
import { PrivacyHttpController } from './privacy/privacy.http.controller';
import { RetentionJob } from './privacy/retention-job';

@Module({
  // Reports first: `compliance/reports` would otherwise be taken for `compliance/:requestId`.
  controllers: [ReportsHttpController, ComplianceMessageController, AuditHttpController, PrivacyHttpController],
  providers: [ComplianceMetrics, AuditChainer, AuditCheckpointer, RetentionJob],
})
export class ComplianceModule {}
