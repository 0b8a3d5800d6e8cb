import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ApiExcludeController } from '@nestjs/swagger';
import type { NatsConnection } from '@nats-io/transport-node';
import { DataSource } from 'typeorm';
import { NATS_CONNECTION } from './tokens';

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** The process is alive (a supervisor restarts it when this fails). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** The process can do its work: NATS connected and Postgres answering. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.checkNats(), () => this.checkPostgres()]);
  }

  private async checkNats() {
    const indicator = this.indicators.check('nats');
    if (this.nc.isClosed()) return indicator.down({ message: 'connection closed' });
    try {
      await this.nc.flush();
      return indicator.up({ server: this.nc.getServer() });
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }

  private async checkPostgres() {
    const indicator = this.indicators.check('postgres');
    try {
      await withTimeout(this.dataSource.query('SELECT 1'), 2000);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
