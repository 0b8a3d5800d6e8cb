import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req } from '@nestjs/common';
import { canSubmitFor, hasRole, type Principal, readableProjects } from '@agf/access-domain';
import { describeIssues, findJsonInputProblem, ProjectId, Uuid } from '@agf/contracts';
import { judgeTarget } from '@agf/notify-domain';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import { NotificationEvent } from '@agf/policy';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { type DeliveryRow, type DeliveryStatus, deliveriesRepository as repo, type SubscriptionRow } from './deliveries.repository';
import { NOTIFY_CONFIG, type NotifyConfig } from './notify-config';
import { SubscribedProjects } from './subscribed-projects';

const SubscriptionInput = z.strictObject({
  projectId: ProjectId,
  url: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
    .max(2048)
    .refine((value) => {
      const url = new URL(value);
      return !url.username && !url.password;
    }, 'a URL with credentials is not accepted (use the secret)'),
  /** The HMAC key the receiver verifies `X-AGF-Signature-256` with. */
  secret: z.string().min(16, 'at least 16 characters').max(256),
  events: z.array(NotificationEvent).min(1).max(NotificationEvent.options.length),
});

export interface SubscriptionView {
  id: string;
  projectId: string;
  url: string;
  events: string[];
  createdBy: string;
  createdAt: string;
}

const subscriptionView = (s: SubscriptionRow): SubscriptionView => ({
  id: s.id,
  projectId: s.projectId,
  url: s.url,
  events: s.events,
  createdBy: s.createdBy,
  createdAt: new Date(s.createdAt).toISOString(),
});

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** A delivery as an operator sees it: where and how it went, never its address or payload secrets. */
const deliveryView = (d: DeliveryRow) => ({
  id: d.id,
  eventId: d.eventId,
  event: d.event,
  channel: d.channel,
  channelKind: d.channelKind,
  recipient: d.recipient,
  requestId: d.requestId,
  projectId: d.projectId,
  severity: d.severity,
  status: d.status,
  attempts: d.attempts,
  createdAt: iso(d.createdAt),
  lastAttemptAt: iso(d.lastAttemptAt),
  nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
  sentAt: iso(d.sentAt),
  deadAt: iso(d.deadAt),
  lastError: d.lastError,
});

const STATUSES = ['pending', 'sent', 'dead', 'all'] as const;

/** The delivery queue, for operators: `?status=dead` lists the dead letters. */
@Controller('v1/notifications/deliveries')
@Roles('admin')
export class DeliveriesHttpController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  async list(@Query('status') status = 'all', @Query('requestId') requestId?: string, @Query('limit') limit = '100') {
    const errors = [];
    if (!(STATUSES as readonly string[]).includes(status)) errors.push({ path: 'status', message: `expected one of ${STATUSES.join(', ')}` });
    if (requestId !== undefined && !Uuid.safeParse(requestId).success) errors.push({ path: 'requestId', message: 'expected a UUID' });
    const count = Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 500) errors.push({ path: 'limit', message: 'expected an integer from 1 to 500' });
    if (errors.length) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'invalid query', errors);
    const rows = await repo.list(this.dataSource, { status: status === 'all' ? undefined : (status as DeliveryStatus), requestId, limit: count });
    return { deliveries: rows.map(deliveryView) };
  }
}

/**
 * Project-level webhooks. An admin manages any project's; a submitter those of the projects it may submit for
 * (the pipelines that want to hear about their own requests). The target must be public unless the operator
 * allow-listed its host (`AGF_NOTIFY_ALLOWED_HOSTS`); it is checked again at each send.
 */
@Controller('v1/notifications/subscriptions')
@Roles('admin', 'submitter')
export class SubscriptionsHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly refusals: AccessRefusals,
    @Inject(NOTIFY_CONFIG) private readonly config: NotifyConfig,
    private readonly subscribed: SubscribedProjects,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<SubscriptionView> {
    const input = parseBody(req, body);
    if (!mayManage(principal, input.projectId)) throw this.refusals.refuseHttp(req, 'forbidden', `may not manage the subscriptions of project ${input.projectId}`);
    await this.checkTarget(input.url);
    const created = await repo.addSubscription(this.dataSource, { id: randomUUID(), projectId: input.projectId, url: input.url, secret: input.secret, events: input.events, createdBy: principal.subject });
    // Before the answer, not when the announcement comes back: the project's next event goes to its subscriber.
    this.subscribed.add(input.projectId);
    return subscriptionView(created);
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal): Promise<{ subscriptions: SubscriptionView[] }> {
    const projects = hasRole(principal, 'admin') ? 'all' : managedProjects(principal);
    return { subscriptions: (await repo.subscriptions(this.dataSource, projects)).map(subscriptionView) };
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Req() req: Request, @Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    const notFound = `no subscription ${id}`;
    const subscription = Uuid.safeParse(id).success ? await repo.subscription(this.dataSource, id) : undefined;
    if (!subscription) throw new ProblemError(404, 'not-found', 'Not Found', notFound);
    // Out of scope reads like unknown: a submitter learns nothing of other projects' subscriptions.
    if (!mayManage(principal, subscription.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', notFound);
    await repo.removeSubscription(this.dataSource, id);
  }

  /** Refuses (422) a target that resolves to a loopback, private, link-local or metadata address, unless allow-listed. */
  private async checkTarget(target: string): Promise<void> {
    const host = new URL(target).hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      addresses = [];
    }
    const verdict = judgeTarget(host, addresses, this.config.allowedHosts);
    if (!verdict.ok) {
      throw new ProblemError(422, 'unsafe-webhook-target', 'Unprocessable Content', `refused: ${verdict.reason}; an operator can allow the host with AGF_NOTIFY_ALLOWED_HOSTS`, [
        { path: 'url', message: verdict.reason },
      ]);
    }
  }
}

function mayManage(principal: Principal, projectId: string): boolean {
  return hasRole(principal, 'admin') || canSubmitFor(principal, projectId);
}

/** The projects a submitter manages: those it may submit for. */
function managedProjects(principal: Principal): 'all' | string[] {
  return hasRole(principal, 'submitter') ? readableProjects({ ...principal, roles: ['submitter'] }) : [];
}

function parseBody(req: Request, body: unknown): z.infer<typeof SubscriptionInput> {
  if (!req.is(['application/json', 'application/*+json'])) throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the body as application/json');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', 'expected a JSON object', [{ path: '(body)', message: 'expected a JSON object' }]);
  }
  const found = findJsonInputProblem(body);
  if (found) throw new ProblemError(400, 'invalid-request', 'Bad Request', `the body ${found.problem}`, found.errors);
  const parsed = SubscriptionInput.safeParse(body);
  // The secret's value is never echoed back in an error.
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', describeIssues(parsed.error).slice(0, 50));
  return parsed.data;
}
