import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/transport-node';
import type { GovernancePolicy } from '@agf/policy';
import { type Namespace, type OutboxRelay, TransactionalPublisher } from '@agf/messaging';
import { DataSource } from 'typeorm';
import { AccessRefusals, ApiKeyReplica, Authenticator, RolesGuard } from './auth';
import { HealthController } from './health.controller';
import { ExpertRegistryReplica } from './registry';
import type { InfraConfig } from './infra-config';
import { MetricsController, MetricsService, SERVICE_NAME } from './metrics';
import { PrivacyErasureController } from './privacy-erasure.controller';
import { PrivacyRetentionJob } from './privacy-retention';
import { ProblemDetailsFilter } from './problem';
import { INFRA_CONFIG, NAMESPACE, NATS_CONNECTION, POLICY } from './tokens';

export interface ServiceRuntime {
  infra: InfraConfig;
  policy: GovernancePolicy;
  dataSource: DataSource;
  nc: NatsConnection;
  namespace: Namespace;
  relay: OutboxRelay;
  publisher: TransactionalPublisher;
  metrics: MetricsService;
  keys: ApiKeyReplica;
  authenticator: Authenticator;
  refusals: AccessRefusals;
  /** The replica of the expert registry, in services started with `expertRegistry: true`. */
  experts?: ExpertRegistryReplica;
}

/** What every service gets: its DataSource, NATS, policy, metrics, health, problem+json errors. */
@Global()
@Module({})
export class PlatformModule {
  static register(runtime: ServiceRuntime): DynamicModule {
    return {
      module: PlatformModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      // Every service pseudonymises an erased person in its own schema.
      controllers: [HealthController, MetricsController, PrivacyErasureController],
      providers: [
        { provide: DataSource, useValue: runtime.dataSource },
        { provide: NATS_CONNECTION, useValue: runtime.nc },
        { provide: NAMESPACE, useValue: runtime.namespace },
        { provide: POLICY, useValue: runtime.policy },
        { provide: INFRA_CONFIG, useValue: runtime.infra },
        { provide: SERVICE_NAME, useValue: runtime.infra.service },
        { provide: MetricsService, useValue: runtime.metrics },
        { provide: TransactionalPublisher, useValue: runtime.publisher },
        { provide: Authenticator, useValue: runtime.authenticator },
        { provide: ApiKeyReplica, useValue: runtime.keys },
        { provide: AccessRefusals, useValue: runtime.refusals },
        ...(runtime.experts ? [{ provide: ExpertRegistryReplica, useValue: runtime.experts }] : []),
        PrivacyRetentionJob,
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_GUARD, useClass: RolesGuard },
      ],
      exports: [DataSource, NATS_CONNECTION, NAMESPACE, POLICY, INFRA_CONFIG, SERVICE_NAME, MetricsService, TransactionalPublisher, Authenticator, ApiKeyReplica, AccessRefusals, ...(runtime.experts ? [ExpertRegistryReplica] : [])],
    };
  }
}
