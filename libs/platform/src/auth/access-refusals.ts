import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import type { AccessRefused, Channel, RefusalCode } from '@agf/contracts';
import type { MessageContext, TransactionalPublisher } from '@agf/messaging';
import type { Request } from 'express';
import { ProblemError } from '../problem';

const STATUS = {
  unauthenticated: [401, 'Unauthorized'],
  forbidden: [403, 'Forbidden'],
  'not-visible': [404, 'Not Found'],
  'not-bound-to-expert': [403, 'Forbidden'],
  'separation-of-duties': [403, 'Forbidden'],
  'requester-mismatch': [403, 'Forbidden'],
} as const satisfies Record<RefusalCode, readonly [number, string]>;

export interface RefusalDetails {
  code: RefusalCode;
  reason: string;
  channel: Channel;
  target: string;
  principal?: Principal;
  clientAddress?: string;
  /** The deployment request the refused attempt was aimed at: the refusal then joins that request's audit trail. */
  requestId?: string;
}

/** `/v1/deployment-requests/<uuid>…`: the request an HTTP call is about. */
const REQUEST_IN_PATH = /^\/v1\/deployment-requests\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:[/?]|$)/i;

/**
 * Every security decision that says no is evidence: it becomes a `security.refused` event, which compliance
 * chains into the audit trail. Over HTTP the caller gets the matching problem (401, 403, or 404 for an object
 * it may not know exists, in the same words as an unknown one).
 */
export class AccessRefusals {
  private readonly logger = new Logger('access');

  constructor(
    private readonly service: string,
    private readonly publisher: TransactionalPublisher,
  ) {}

  /** Records the refusal of an HTTP request and returns the problem to answer with. */
  refuseHttp(req: Request, code: RefusalCode, reason: string, principal = principalOf(req)): ProblemError {
    const requestId = REQUEST_IN_PATH.exec(req.originalUrl)?.[1]?.toLowerCase();
    this.record({ code, reason, channel: 'http', target: `${req.method} ${req.originalUrl}`.slice(0, 1024), principal, clientAddress: req.ip, ...(requestId ? { requestId } : {}) });
    const [status, title] = STATUS[code];
    if (code === 'not-visible') return new ProblemError(404, 'not-found', title, reason);
    return new ProblemError(status, code, title, reason, undefined, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
  }

  /**
   * Records a refusal over NATS in the handler's own transaction: it is committed with the rejection event the
   * handler sends, and a redelivery of the message records it no second time.
   */
  refuseMessage(ctx: MessageContext, details: Omit<RefusalDetails, 'channel' | 'target'>): void {
    ctx.emit({ name: 'security.refused', data: this.event({ ...details, channel: 'nats', target: ctx.subject }), correlationId: details.requestId ?? randomUUID() });
  }

  /** Best effort: a refusal that cannot be recorded (database down) is logged; the caller is refused all the same. */
  record(details: RefusalDetails): void {
    this.publisher
      .transaction(async (tx) => {
        tx.emit({ name: 'security.refused', data: this.event(details), correlationId: details.requestId ?? randomUUID() });
      })
      .catch((error: Error) => this.logger.warn(`could not record a refusal (${details.code} ${details.target}): ${error.message}`));
  }

  private event(details: RefusalDetails): AccessRefused {
    return {
      service: this.service,
      channel: details.channel,
      code: details.code,
      reason: details.reason.slice(0, 1024),
      target: details.target.slice(0, 1024),
      ...(details.principal ? { actor: actorOf(details.principal, details.channel) } : {}),
      ...(details.clientAddress ? { clientAddress: details.clientAddress.slice(0, 64) } : {}),
      refusedAt: new Date().toISOString(),
    };
  }
}

/** The principal the authentication middleware attached to an HTTP request. */
export function principalOf(req: Request): Principal | undefined {
  return (req as Request & { principal?: Principal }).principal;
}

export function attachPrincipal(req: Request, principal: Principal): void {
  (req as Request & { principal?: Principal }).principal = principal;
}
