import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { LIMITS } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { ProblemError } from '@agf/platform';
import type { Request, Response } from 'express';
import { submitRequest, submitRequestAtOnce } from './submit-request.use-case';
import { validateSubmission } from './validate-submission';

@ApiTags('deployment requests')
@Controller('v1/deployment-requests')
export class SubmitRequestHttpController {
  constructor(private readonly publisher: TransactionalPublisher) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Submit a deployment request for governance' })
  @ApiBody({ schema: { $ref: '#/components/schemas/DeploymentRequestInput' } })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retry with the same key returns the first request instead of creating a second one' })
  @ApiResponse({ status: 202, description: 'Accepted: `{id, status}`' })
  @ApiResponse({ status: 400, description: 'Invalid input (application/problem+json naming each bad field)' })
  @ApiResponse({ status: 413, description: 'Body over 1 MiB, or a request over 768 KiB as stored (its events must fit in a NATS message)' })
  @ApiResponse({ status: 415, description: 'Body is not application/json' })
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Body() body: unknown,
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
    const result = idempotencyKey
      ? await this.publisher.transaction((tx) => submitRequest(tx, checked.input, 'http', `http:${idempotencyKey}`))
      : await submitRequestAtOnce(this.publisher, checked.input, 'http');
    res.setHeader('Location', `/v1/deployment-requests/${result.id}`);
    if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return { id: result.id, status: result.status };
  }
}
