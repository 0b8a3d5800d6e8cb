import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { LIMITS } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request, Response } from 'express';
import { authorizeSubmission } from './authorize-submission';
import { submitRequest, submitRequestAtOnce } from './submit-request.use-case';
import { validateSubmission } from './validate-submission';

@Controller('v1/deployment-requests')
export class SubmitRequestHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly refusals: AccessRefusals,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('submitter')
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<{ id: string; status: string }> {
    if (!req.is(['application/json', 'application/*+json'])) {
      throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the request as application/json');
    }
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > LIMITS.idempotencyKeyLength)) {
      throw new ProblemError(400, 'invalid-idempotency-key', 'Bad Request', undefined, [
        { path: 'Idempotency-Key', message: `expected 1-${LIMITS.idempotencyKeyLength} characters` },
      ]);
    }
    const checked = validateSubmission(body);
    if (!checked.ok) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the deployment request is invalid', checked.errors);
    const authorized = authorizeSubmission(principal, checked.input);
    if (!authorized.ok) throw this.refusals.refuseHttp(req, authorized.code, authorized.reason);
    const actor = actorOf(principal, 'http');
    const result = idempotencyKey
      ? await this.publisher.transaction((tx) => submitRequest(tx, authorized.input, actor, `http:${idempotencyKey}`))
      : await submitRequestAtOnce(this.publisher, authorized.input, actor);
    res.setHeader('Location', `/v1/deployment-requests/${result.id}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return { id: result.id, status: result.status };
  }
}
