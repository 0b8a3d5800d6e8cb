import { readFileSync } from 'node:fs';
import { Controller, Get, Inject, Injectable, Logger, type OnModuleDestroy, Req } from '@nestjs/common';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { STREAM_NAMES } from '@agf/contracts';
import { connectNats, Namespace } from '@agf/messaging';
import { inboxPrefixOf } from '@agf/platform';
import type { Request } from 'express';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { sumOf } from './prometheus-text';
import { sessionOf } from './session-guard';
import { Upstream, type UpstreamService } from './upstream';

interface ServiceFigures {
  service: string;
  /** null: the service did not answer at all. */
  ready: boolean | null;
  /** Why the figures are missing: the service refused the caller's credential, or did not answer. */
  metricsError?: string;
  decisionsTotal?: number;
  deadLettered?: number;
  outboxUnsent?: number;
}

/** Consumer lag straight from JetStream: what each durable consumer has still to take, and the dead-letter stream. */
@Injectable()
export class JetStreamLag implements OnModuleDestroy {
  private readonly logger = new Logger('console');
  private connection?: Promise<NatsConnection>;

  constructor(@Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig) {}

  async read(): Promise<{ consumers: Array<{ stream: string; consumer: string; pending: number; ackPending: number }>; deadLetters: number }> {
    this.connection ??= connectNats(this.config.natsUrl, 'agf-console', {
      nkeySeed: this.config.natsSeedFile ? new TextEncoder().encode(readFileSync(this.config.natsSeedFile, 'utf8').trim()) : undefined,
      inboxPrefix: inboxPrefixOf('console'),
      tlsCaFile: this.config.natsTlsCaFile,
    }).catch((error: Error) => {
      this.connection = undefined;
      throw error;
    });
    const jsm = await jetstreamManager(await this.connection);
    const namespace = new Namespace(this.config.namespace);
    const consumers: Array<{ stream: string; consumer: string; pending: number; ackPending: number }> = [];
    let deadLetters = 0;
    for (const name of STREAM_NAMES) {
      const stream = namespace.stream(name);
      try {
        if (name === 'AGF_DLQ') deadLetters = (await jsm.streams.info(stream)).state.messages;
        for await (const info of jsm.consumers.list(stream)) {
          // The services' durable consumers; replicas' ephemeral ones (keys, registry) replay and go.
          if (!info.config.durable_name) continue;
          consumers.push({ stream: name, consumer: info.name, pending: info.num_pending, ackPending: info.num_ack_pending });
        }
      } catch (error) {
        // A stream nobody created yet has no consumers to lag.
        this.logger.debug(`stream ${stream}: ${(error as Error).message}`);
      }
    }
    return { consumers, deadLetters };
  }

  async onModuleDestroy(): Promise<void> {
    const connection = await this.connection?.catch(() => undefined);
    await connection?.drain().catch(() => undefined);
  }
}

/**
 * The technical dashboard's figures: each service's readiness, and from its /metrics (read with the caller's
 * credential, so only those whom the services let read metrics see them) decisions, dead letters and outbox
 * backlog; decisions per second between this read and the previous one; consumer lag from JetStream.
 */
@Controller('console-api/technical')
export class TechnicalHttpController {
  private previous?: { at: number; decisions: number };

  constructor(
    private readonly upstream: Upstream,
    private readonly lag: JetStreamLag,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @Get()
  async figures(@Req() req: Request) {
    const { authorization } = sessionOf(req);
    const services = await Promise.all((Object.keys(this.config.services) as UpstreamService[]).map((service) => this.serviceFigures(service, authorization)));
    const readable = services.filter((s) => s.metricsError === undefined && s.ready);
    const decisionsTotal = services.find((s) => s.service === 'coe')?.decisionsTotal;
    const at = Date.now();
    let decisionsPerSecond: number | null = null;
    if (decisionsTotal !== undefined) {
      if (this.previous && at > this.previous.at && decisionsTotal >= this.previous.decisions) {
        decisionsPerSecond = Math.round(((decisionsTotal - this.previous.decisions) / ((at - this.previous.at) / 1000)) * 1000) / 1000;
      }
      this.previous = { at, decisions: decisionsTotal };
    }
    // JetStream's figures only for someone the services already let read their metrics.
    const jetstream = readable.length ? await this.lag.read().catch((error: Error) => ({ error: `NATS: ${error.message}` })) : { error: 'your credential may not read metrics (roles admin, auditor or metrics)' };
    return { at: new Date(at).toISOString(), decisionsTotal: decisionsTotal ?? null, decisionsPerSecond, services, jetstream };
  }

  private async serviceFigures(service: UpstreamService, authorization: string): Promise<ServiceFigures> {
    const health = await this.upstream.call(service, '/health/ready', undefined).catch(() => undefined);
    if (!health) return { service, ready: null, metricsError: 'not reachable' };
    const ready = health.status === 200;
    const metrics = await this.upstream.call(service, '/metrics', authorization).catch(() => undefined);
    if (!metrics) return { service, ready, metricsError: 'not reachable' };
    if (metrics.status !== 200) return { service, ready, metricsError: metrics.status === 403 || metrics.status === 401 ? `refused (${metrics.status})` : `answered ${metrics.status}` };
    return {
      service,
      ready,
      decisionsTotal: sumOf(metrics.body, 'agf_decisions_total'),
      deadLettered: sumOf(metrics.body, 'agf_messages_total', { result: 'dead_lettered' }),
      outboxUnsent: sumOf(metrics.body, 'agf_outbox_unsent_events'),
    };
  }
}
