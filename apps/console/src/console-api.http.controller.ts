import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ProblemError } from '@agf/platform';
import type { Request, Response } from 'express';
import { CONSOLE_CONFIG, type ConsoleConfig } from './console-config';
import { sessionOf } from './session-guard';
import { SessionStore } from './sessions';
import { Upstream, type UpstreamAnswer, upstreamProblem } from './upstream';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEARTBEAT_MS = 15_000;

function requestId(id: string): string {
  if (!UUID.test(id)) throw new ProblemError(404, 'not-found', 'Not Found', `no deployment request ${id}`);
  return id;
}

function query(params: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (typeof value === 'string' && value !== '') search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * The console's reads and writes, each one call (or a few) to the service that owns the data, with the
 * signed-in person's credential; a refusal comes back with the service's own status and reason.
 */
@Controller('console-api')
export class ConsoleApiHttpController {
  constructor(
    private readonly upstream: Upstream,
    private readonly sessions: SessionStore,
    @Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig,
  ) {}

  @Get('inbox')
  async inbox(@Req() req: Request) {
    return this.upstream.json('intake', '/v1/reviews?assignee=me&status=pending&limit=100', sessionOf(req).authorization);
  }

  /** The inbox as Server-Sent Events: the whole list again whenever it changed (new assignments, answers, decisions). */
  @Get('inbox/events')
  async inboxEvents(@Req() req: Request, @Res() res: Response): Promise<void> {
    const { authorization, id: sessionId } = sessionOf(req);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    let closed = false;
    let last = '';
    let sinceBeat = 0;
    res.once('close', () => (closed = true));
    // Until the browser goes, or the session ends (signed out, expired): its credential is not used after that.
    while (!closed && this.sessions.isLive(sessionId)) {
      const answer = await this.upstream.call('intake', '/v1/reviews?assignee=me&status=pending&limit=100', authorization).catch(() => undefined);
      if (answer && answer.status !== 200) {
        // Refused now (a revoked key): say so and end; the page shows the reason.
        res.write(`event: refused\ndata: ${JSON.stringify({ status: answer.status })}\n\n`);
        break;
      }
      if (answer && answer.body !== last) {
        last = answer.body;
        res.write(`event: inbox\ndata: ${answer.body}\n\n`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.config.inboxPollMs));
      sinceBeat += this.config.inboxPollMs;
      if (sinceBeat >= HEARTBEAT_MS && !closed) {
        res.write(': heartbeat\n\n');
        sinceBeat = 0;
      }
    }
    res.end();
  }

  @Get('requests/:id')
  async request(@Param('id') id: string, @Req() req: Request) {
    return this.upstream.json('intake', `/v1/deployment-requests/${requestId(id)}`, sessionOf(req).authorization);
  }

  /** The request's audit entries with the whole chain's verification, or why the caller may not read them. */
  @Get('requests/:id/audit')
  async audit(@Param('id') id: string, @Req() req: Request) {
    const { authorization } = sessionOf(req);
    const [trail, verification] = await Promise.all([
      this.upstream.call('compliance', `/v1/audit/trail?requestId=${requestId(id)}`, authorization),
      this.upstream.call('compliance', '/v1/audit/verify', authorization),
    ]);
    if (trail.status === 401 || trail.status === 403) return { available: false, status: trail.status, reason: reasonOf(trail) };
    if (trail.status !== 200) throw upstreamProblem('compliance', trail);
    const entries = (JSON.parse(trail.body) as { entries: Array<Record<string, unknown>> }).entries.map((entry) => ({
      sequence: entry['sequence'],
      eventType: entry['eventType'],
      occurredAt: entry['occurredAt'],
      recordedAt: entry['recordedAt'],
      entryHash: entry['entryHash'],
      previousHash: entry['previousHash'],
      actor: ((entry['payload'] as { data?: { actor?: unknown } } | undefined)?.data?.actor ?? null) as unknown,
      // A reported outcome is in no read model a reviewer can read; the trail has it.
      ...(entry['eventType'] === 'io.agf.deployment.outcome.v1' ? { outcome: (entry['payload'] as { data?: { status?: unknown } } | undefined)?.data?.status ?? null } : {}),
    }));
    return { available: true, entries, chain: verification.status === 200 ? JSON.parse(verification.body) : { valid: null, reason: reasonOf(verification) } };
  }

  /** intake's event stream of the request, passed through as it comes, with the caller's credential. */
  @Get('requests/:id/events')
  async events(@Param('id') id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const { authorization } = sessionOf(req);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const lastEventId = req.headers['last-event-id'];
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(this.upstream.url('intake', `/v1/deployment-requests/${requestId(id)}/events`), {
        headers: { authorization, accept: 'text/event-stream', ...(typeof lastEventId === 'string' ? { 'last-event-id': lastEventId } : {}) },
        signal: abort.signal,
      });
    } catch (error) {
      throw new ProblemError(502, 'upstream-unavailable', 'Bad Gateway', `intake did not answer (${(error as Error).message})`);
    }
    if (upstream.status !== 200 || !upstream.body) throw upstreamProblem('intake', { status: upstream.status, contentType: '', body: await upstream.text() });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    try {
      for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
    } catch {
      // the browser went away, or intake closed the stream: the EventSource reconnects from its last id
    }
    res.end();
  }

  @Post('requests/:id/reviews')
  @HttpCode(202)
  async review(@Param('id') id: string, @Body() body: unknown, @Req() req: Request) {
    const answer = await this.upstream.call('intake', `/v1/deployment-requests/${requestId(id)}/reviews`, sessionOf(req).authorization, { method: 'POST', body });
    if (answer.status !== 202) throw upstreamProblem('intake', answer);
    return JSON.parse(answer.body) as unknown;
  }

  @Get('insights')
  async insights(@Query('from') from: unknown, @Query('to') to: unknown, @Query('projectId') projectId: unknown, @Req() req: Request) {
    return this.upstream.json('intake', `/v1/insights${query({ from, to, projectId })}`, sessionOf(req).authorization);
  }

  /** The CoE view: each expert's capacity (coe's registry) beside their load and answer times (intake's figures). */
  @Get('coe')
  async coe(@Query('from') from: unknown, @Query('to') to: unknown, @Req() req: Request) {
    const { authorization } = sessionOf(req);
    const [experts, insights] = await Promise.all([
      this.upstream.json<{ experts?: unknown[] } | unknown[]>('coe', '/v1/experts', authorization),
      this.upstream.json<{ experts: Array<{ expertId: string; open: number; overdue: number; answered: number; answerSeconds: { p50: number | null; p90: number | null } }> }>('intake', `/v1/insights${query({ from, to })}`, authorization),
    ]);
    const registry = (Array.isArray(experts) ? experts : (experts.experts ?? [])) as Array<Record<string, unknown>>;
    const figures = new Map(insights.experts.map((e) => [e.expertId, e]));
    return {
      experts: registry.map((expert) => {
        const id = String(expert['id']);
        const figure = figures.get(id);
        return {
          expertId: id,
          expertType: String(expert['expertType'] ?? ''),
          kind: String(expert['kind'] ?? ''),
          capacity: typeof expert['capacity'] === 'number' ? expert['capacity'] : null,
          // coe's own count of the expert's open reviews: the load it assigns against.
          load: typeof expert['openReviews'] === 'number' ? expert['openReviews'] : (figure?.open ?? 0),
          available: expert['available'] !== false,
          active: expert['active'] !== false,
          overdue: figure?.overdue ?? 0,
          answered: figure?.answered ?? 0,
          answerSeconds: figure?.answerSeconds ?? { p50: null, p90: null },
        };
      }),
    };
  }
}

function reasonOf(answer: UpstreamAnswer): string {
  try {
    return (JSON.parse(answer.body) as { detail?: string }).detail ?? `answered ${answer.status}`;
  } catch {
    return `answered ${answer.status}`;
  }
}
