import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer';
import { AuditCheckpointer } from './audit-checkpointer';
import { AuditHttpController } from './audit.http.controller';
import { ComplianceMessageController } from './compliance.message.controller';
import { ComplianceMetrics } from './compliance-metrics';
import { ReportsHttpController } from './evidence/reports.http.controller';

@Module({
  // Reports first: `compliance/reports` would otherwise be taken for `compliance/:requestId`.
  controllers: [ReportsHttpController, ComplianceMessageController, AuditHttpController],
  providers: [ComplianceMetrics, AuditChainer, AuditCheckpointer],
})
export class ComplianceModule {}
