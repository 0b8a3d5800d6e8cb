import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import type { Principal } from '@agf/access-domain';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { RequestViewRepository } from '../requests/request-view.repository';
import { notFoundDetail, RequestVisibility } from '../requests/request-visibility';
import { readRequestEvents, requestEventsCommitted } from './request-events.store';

/** A comment line every so often keeps proxies and load balancers from closing a quiet stream. */
const HEARTBEAT_MS = Number(process.env['AGF_SSE_HEARTBEAT_MS'] ?? 15_000);
/** Events committed by another replica are found by reading again this often. */
const REREAD_MS = Number(process.env['AGF_SSE_REREAD_MS'] ?? 2_000);
/** What a client should wait before reconnecting (the SSE `retry:` field). */
const RETRY_MS = 2_000;

/**
 * `GET /v1/deployment-requests/{id}/events`: the request's story as Server-Sent Events, oldest first, each with
 * its per-request sequence number as the event id, so a client resumes where it stopped (`Last-Event-ID`, or
 * `?lastEventId=`). The stream ends after `decision.made`; until then it stays open for as long as the client
 * waits. Whoever may read the request may follow it; everyone else is told it does not exist.
 */
@Controller('v1/deployment-requests')
@Roles('submitter', 'auditor', 'reviewer')
export class RequestEventsHttpController {
  constructor(
    private readonly repository: RequestViewRepository,
    private readonly visibility: RequestVisibility,
    private readonly refusals: AccessRefusals,
    private readonly dataSource: DataSource,
  ) {}

  @Get(':id/events')
  async events(
    @Param('id') id: string,
    @Headers('last-event-id') lastEventIdHeader: string | undefined,
    @Query('lastEventId') lastEventIdQuery: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const afterSeq = parseLastEventId(lastEventIdHeader ?? lastEventIdQuery);
    const row = await this.repository.findDecision(id);
    if (!row) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(id));
    if (!(await this.visibility.canSee(principal, { id, project_id: row.project_id }))) throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(id));

    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: ${RETRY_MS}\n\n`);
    await this.follow(id, afterSeq, req, res);
  }

  private async follow(id: string, afterSeq: number, req: Request, res: Response): Promise<void> {
    let closed = false;
    let wake: () => void = () => undefined;
    const onCommitted = (requestId: string): void => {
      if (requestId === id) wake();
    };
    const onClose = (): void => {
      closed = true;
      wake();
    };
    requestEventsCommitted.on('committed', onCommitted);
    res.once('close', onClose);
    const heartbeat = setInterval(() => res.write(`: heartbeat ${new Date().toISOString()}\n\n`), HEARTBEAT_MS);
    let last = afterSeq;
    try {
      while (!closed) {
        const rows = await readRequestEvents(this.dataSource, id, last);
        for (const event of rows) {
          res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify({ seq: event.seq, type: event.type, recordedAt: event.recorded_at, data: event.data })}\n\n`);
          last = event.seq;
          if (event.type === 'decision.made') return;
        }
        if (rows.length) continue; // there may be more than one page
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, REREAD_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } catch (error) {
      // The headers are sent: the client sees the stream end and reconnects from its last event id.
      res.write(`: error ${(error as Error).message.replace(/\n/g, ' ')}\n\n`);
    } finally {
      clearInterval(heartbeat);
      requestEventsCommitted.off('committed', onCommitted);
      res.off('close', onClose);
      res.end();
    }
  }
}

function parseLastEventId(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  if (!/^\d{1,9}$/.test(text)) throw new ProblemError(400, 'invalid-header', 'Bad Request', undefined, [{ path: 'Last-Event-ID', message: 'expected the id of an event of this stream' }]);
  return Number(text);
}
