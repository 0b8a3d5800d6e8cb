import { Module } from '@nestjs/common';
import { AuditChainer } from './audit-chainer';
import { AuditHttpController } from './audit.http.controller';
import { ComplianceMessageController } from './compliance.message.controller';
import { ComplianceMetrics } from './compliance-metrics';

@Module({
  controllers: [ComplianceMessageController, AuditHttpController],
  providers: [ComplianceMetrics, AuditChainer],
})
export class ComplianceModule {}
