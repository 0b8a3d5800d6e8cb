import { Controller, Logger } from '@nestjs/common';
import { actorOf } from '@agf/access-domain';
import { type IncomingCommand, MessageContext, OnMessage } from '@agf/messaging';
import { AccessRefusals, Authenticator, ProblemError } from '@agf/platform';
import { findUnstorableStrings, LIMITS, PROJECT_ID_PATTERN, UNSTORABLE_STRING_MESSAGE, type ValidationIssue } from '@agf/contracts';
import { authorizeSubmission } from './authorize-submission';
import { submitRequest } from './submit-request.use-case';
import { validateSubmission } from './validate-submission';

/**
 * `agf.v1.intake.submit`: the same use case as HTTP, with the credential in the message's `Authorization`
 * header; bad input, and a missing, invalid or insufficient credential, become
 * `agf.v1.intake.rejected.<projectId|_invalid>` (a refused credential is recorded as `security.refused` too).
 */
@Controller()
export class SubmitRequestMessageController {
  private readonly logger = new Logger('intake.submit');

  constructor(
    private readonly authenticator: Authenticator,
    private readonly refusals: AccessRefusals,
  ) {}

  @OnMessage('intake.submit')
  async submit(command: IncomingCommand, ctx: MessageContext): Promise<void> {
    const authentication = await this.authenticator.authenticate(ctx.header('Authorization'));
    if (!authentication.ok) {
      this.refusals.refuseMessage(ctx, { code: 'unauthenticated', reason: authentication.reason });
      return this.reject(ctx, command.body, [{ path: 'Authorization', message: authentication.reason }]);
    }
    const { principal } = authentication;
    const msgId = ctx.natsMsgId;
    const errors = this.check(command, msgId);
    if (errors.length) return this.reject(ctx, command.body, errors);
    const checked = validateSubmission(command.body);
    if (!checked.ok) return this.reject(ctx, command.body, checked.errors);
    const authorized = authorizeSubmission(principal, checked.input);
    if (!authorized.ok) {
      this.refusals.refuseMessage(ctx, { code: authorized.code, reason: authorized.reason, principal });
      return this.reject(ctx, command.body, [{ path: authorized.code === 'requester-mismatch' ? 'requester' : 'Authorization', message: authorized.reason }]);
    }
    try {
      await submitRequest(ctx, authorized.input, actorOf(principal, 'nats'), msgId ? `nats:${msgId}` : undefined);
    } catch (error) {
      if (error instanceof ProblemError && error.status < 500) {
        return this.reject(ctx, command.body, error.errors ?? [{ path: 'Nats-Msg-Id', message: error.message }]);
      }
      throw error;
    }
  }

  private check(command: IncomingCommand, msgId: string | undefined): ValidationIssue[] {
    const keyProblem = msgId ? idempotencyKeyProblem(msgId) : undefined;
    if (keyProblem) return [keyProblem];
    if (command.size > LIMITS.maxBodyBytes) return [{ path: '(body)', message: 'the message exceeds 1 MiB' }];
    if (command.parseError) return [{ path: '(body)', message: `not valid JSON: ${command.parseError}` }];
    return [];
  }

  private reject(ctx: MessageContext, body: unknown, errors: ValidationIssue[]): void {
    const candidate = (body as { projectId?: unknown } | null)?.projectId;
    const projectId = typeof candidate === 'string' && PROJECT_ID_PATTERN.test(candidate) ? candidate : '_invalid';
    this.logger.warn(`rejected submission for ${projectId}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    // The publisher's id correlates the rejection, unless it is the reason for it.
    const msgId = ctx.natsMsgId && !idempotencyKeyProblem(ctx.natsMsgId) ? ctx.natsMsgId : undefined;
    ctx.emit({
      name: 'intake.rejected',
      data: { projectId, errors, receivedAt: new Date().toISOString(), ...(msgId ? { natsMsgId: msgId } : {}) },
      correlationId: msgId ?? `intake.submit:${ctx.streamSequence}`,
      subjectToken: projectId,
    });
  }
}

/** The message id becomes the idempotency key (stored and indexed): one that could not be stored is refused. */
function idempotencyKeyProblem(msgId: string): ValidationIssue | undefined {
  if (msgId.length > LIMITS.idempotencyKeyLength) {
    return { path: 'Nats-Msg-Id', message: `expected at most ${LIMITS.idempotencyKeyLength} characters, got ${msgId.length}` };
  }
  if (findUnstorableStrings(msgId).length) return { path: 'Nats-Msg-Id', message: UNSTORABLE_STRING_MESSAGE };
  return undefined;
}
