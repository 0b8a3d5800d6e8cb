import { Controller, Get, Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/transport-node';
import { Pool } from 'pg';
import type { InfraConfig } from './infra-config';
import { INFRA_CONFIG, NATS_CONNECTION } from './tokens';

/** Not in intake's API document (operations endpoints); should @nestjs/swagger be installed, terminus would load it for this. */
const HEALTH_CHECK = { noCache: true, swaggerDocumentation: false };

@Controller('health')
export class HealthController implements OnModuleDestroy {
  private readonly logger = new Logger('health');
  /**
   * A connection of its own: probing through the service's pool would report "not ready" whenever handlers
   * work through a backlog and hold every pooled connection, which is exactly when a restart must not happen.
   */
  private readonly probe: Pool;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(INFRA_CONFIG) infra: InfraConfig,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {
    this.probe = new Pool({ connectionString: infra.DATABASE_URL, max: 1, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 2000 });
    this.probe.on('error', () => undefined); // a dropped idle probe connection is replaced on the next check
  }

  async onModuleDestroy(): Promise<void> {
    await this.probe.end().catch(() => undefined);
  }

  /** The process is alive (a supervisor restarts it when this fails). */
  @Get('live')
  @HealthCheck(HEALTH_CHECK)
  live() {
    return this.health.check([]);
  }

  /** The process can do its work: NATS connected and Postgres answering. */
  @Get('ready')
  @HealthCheck(HEALTH_CHECK)
  ready() {
    return this.health.check([() => this.checkNats(), () => this.checkPostgres()]);
  }

  private async checkNats() {
    const indicator = this.indicators.check('nats');
    if (this.nc.isClosed()) return indicator.down();
    try {
      await this.nc.flush();
      return indicator.up();
    } catch (error) {
      this.logger.warn(`readiness: NATS: ${(error as Error).message}`);
      return indicator.down();
    }
  }

  private async checkPostgres() {
    const indicator = this.indicators.check('postgres');
    try {
      await withTimeout(this.probe.query('SELECT 1'), 2000);
      return indicator.up();
    } catch (error) {
      // The driver's message names hosts and users: it goes to the log, not to an unauthenticated caller.
      this.logger.warn(`readiness: Postgres: ${(error as Error).message}`);
      return indicator.down();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
