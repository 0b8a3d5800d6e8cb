import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { actorOf, type Principal } from '@agf/access-domain';
import { ApiKeyInput, type ApiKeyView } from '@agf/contracts';
import { TransactionalPublisher } from '@agf/messaging';
import { ApiKeyReplica, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { parseJsonBody } from '../http-input';
import { issueApiKey, listApiKeys, revokeApiKey } from './api-keys.use-case';

/** API keys for pipelines, automated experts and local use; an admin's business alone. */
@Controller('v1/api-keys')
@Roles('admin')
export class ApiKeysHttpController {
  constructor(
    private readonly publisher: TransactionalPublisher,
    private readonly dataSource: DataSource,
    private readonly keys: ApiKeyReplica,
  ) {}

  @Post()
  @HttpCode(201)
  async issue(@Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<{ id: string; key: string }> {
    const input = parseJsonBody(req, body, ApiKeyInput);
    const now = new Date();
    if (input.expiresAt && Date.parse(input.expiresAt) <= now.getTime()) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', [{ path: 'expiresAt', message: 'expected a time in the future' }]);
    }
    const { id, key, keyHash } = await this.publisher.transaction((tx) => issueApiKey(tx, input, actorOf(principal, 'http'), now));
    // The key is stored either way; waiting only spares the caller a 401 on its first use here.
    await this.keys.whenKnown(keyHash, 5000);
    return { id, key };
  }

  @Get()
  async list(): Promise<ApiKeyView[]> {
    return listApiKeys(this.dataSource.manager);
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    const result = await this.publisher.transaction((tx) => revokeApiKey(tx, id, actorOf(principal, 'http')));
    if (result === 'unknown') throw new ProblemError(404, 'not-found', 'Not Found', `no API key ${id}`);
  }
}
