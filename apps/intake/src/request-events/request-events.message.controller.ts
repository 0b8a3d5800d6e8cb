import { Controller } from '@nestjs/common';
import type { CloudEvent } from '@agf/contracts';
import { MessageContext, OnMessage } from '@agf/messaging';
import { recordRequestEvents, requestEventsCommitted } from './request-events.store';

/**
 * The steps of a request's story the status read model does not follow: an escalation to a person, and a
 * review that is no longer needed. The read model's own events join the story in its projection.
 */
@Controller()
export class RequestEventsMessageController {
  @OnMessage('decision.escalated') async escalated(e: CloudEvent<'decision.escalated'>, ctx: MessageContext) { tell(ctx, e.type, e.data); }
  @OnMessage('review.cancelled') async cancelled(e: CloudEvent<'review.cancelled'>, ctx: MessageContext) { tell(ctx, e.type, e.data); }
}

function tell(ctx: MessageContext, name: string, data: { requestId: string }): void {
  ctx.writeLater('request-events', { name, data }, recordRequestEvents);
  ctx.onCommitted(() => requestEventsCommitted.emit('committed', data.requestId));
}
