import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer';
import { AuditCheckpointer } from './audit-checkpointer';
import { AuditHttpController } from './audit.http.controller';
import { ComplianceMessageController } from './compliance.message.controller';
import { ComplianceMetrics } from './compliance-metrics';

@Module({
  controllers: [ComplianceMessageController, AuditHttpController],
  providers: [ComplianceMetrics, AuditChainer, AuditCheckpointer],
})
export class ComplianceModule {}
