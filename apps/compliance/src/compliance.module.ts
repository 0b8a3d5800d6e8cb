import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer';
import { AuditCheckpointer } from './audit-checkpointer';
import { AuditHttpController } from './audit.http.controller';
import { ComplianceMessageController } from './compliance.message.controller';
import { ComplianceMetrics } from './compliance-metrics';
import { ReportsHttpController } from './evidence/reports.http.controller';

@Module({
  controllers: [ComplianceMessageController, AuditHttpController, ReportsHttpController],
  providers: [ComplianceMetrics, AuditChainer, AuditCheckpointer],
})
export class ComplianceModule {}
