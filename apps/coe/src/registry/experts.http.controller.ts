import { Body, Controller, Delete, Get, HttpCode, Param, Put, Req, Res } from '@nestjs/common';
import { actorOf, hasRole, type Principal } from '@agf/access-domain';
import { ExpertId, ExpertRecord, IsoDateTime } from '@agf/contracts';
import { type Transaction, TransactionalPublisher } from '@agf/messaging';
import { AccessRefusals, CurrentPrincipal, parseJsonBody, ProblemError, Roles } from '@agf/platform';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { emitRegistryChange } from './expert-registry';
import { ExpertHandOver } from './expert-hand-over';
import { registryRepository as registry, viewOf } from './registry.repository';

/** `PUT /v1/experts/{id}`: the record without its id (in the path) and availability (its own route). */
export const ExpertDefinitionInput = ExpertRecord.omit({ id: true, available: true, away: true }).strict();

/** `PUT /v1/experts/{id}/availability`: the whole availability (no `away`, or `null`: not away). */
export const AvailabilityInput = z
  .strictObject({
    available: z.boolean(),
    away: z.strictObject({ from: IsoDateTime, until: IsoDateTime }).nullable().optional(),
  })
  .refine((a) => !a.away || Date.parse(a.away.from) < Date.parse(a.away.until), { message: 'away.from must be before away.until', path: ['away'] });

/**
 * The expert registry, managed without a restart: who reviews what, whether they take new work, and how busy
 * they are. Admins change it, admins and auditors read it; a reviewer may set their own availability. Every
 * change is announced with `registry.expert.changed` (carrying the verified actor) in the transaction that made
 * it, and so reaches compliance's audit trail and every service's replica of the registry.
 */
@Controller('v1/experts')
export class ExpertsHttpController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: TransactionalPublisher,
    private readonly refusals: AccessRefusals,
    private readonly handOver: ExpertHandOver,
  ) {}

  @Get()
  @Roles('admin', 'auditor')
  async list() {
    return { experts: (await registry.all(this.dataSource)).map(viewOf) };
  }

  @Get(':id')
  @Roles('admin', 'auditor')
  async get(@Param('id') id: string) {
    const entry = await registry.find(this.dataSource, expertIdOf(id));
    if (!entry) throw notFound(id);
    return viewOf(entry);
  }

  @Put(':id')
  @Roles('admin')
  async put(@Param('id') id: string, @Body() body: unknown, @Req() req: Request, @Res({ passthrough: true }) res: Response, @CurrentPrincipal() principal: Principal) {
    const expertId = expertIdOf(id);
    const definition = parseJsonBody(req, body, ExpertDefinitionInput);
    const actor = actorOf(principal, 'http');
    const result = await this.changeRegistry(async (tx) => {
      const written = await registry.put(tx.manager, expertId, definition);
      if (written) emitRegistryChange(tx, { entry: written.entry, removed: false, source: 'api', actor });
      return written;
    });
    res.status(result?.created ? 201 : 200);
    return viewOf(result?.entry ?? (await registry.find(this.dataSource, expertId))!);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  async remove(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    const expertId = expertIdOf(id);
    const actor = actorOf(principal, 'http');
    const removed = await this.changeRegistry(async (tx) => {
      // Requests are locked before the expert row, in the order the review workflow takes them.
      await this.handOver.handOver(tx, expertId, 'removed-from-registry');
      const entry = await registry.deactivate(tx.manager, expertId);
      if (entry) emitRegistryChange(tx, { entry, removed: true, source: 'api', actor });
      return entry;
    });
    // Removing a removed expert again changes nothing; one that never was is unknown.
    if (!removed && !(await registry.find(this.dataSource, expertId))) throw notFound(id);
  }

  @Put(':id/availability')
  @Roles('admin', 'reviewer')
  async setAvailability(@Param('id') id: string, @Body() body: unknown, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    const expertId = expertIdOf(id);
    const known = await registry.find(this.dataSource, expertId);
    // A reviewer sets only the availability of an expert it answers for; whether another exists is not its business.
    if (!hasRole(principal, 'admin') && !(known?.active && known.principal.includes(principal.subject) && hasRole(principal, 'reviewer'))) {
      throw this.refusals.refuseHttp(req, 'not-bound-to-expert', `${principal.subject} does not answer for expert ${expertId}`);
    }
    if (!known) throw notFound(id);
    const input = parseJsonBody(req, body, AvailabilityInput);
    const actor = actorOf(principal, 'http');
    const away = input.away ?? null;
    const changed = await this.changeRegistry(async (tx) => {
      // Requests are locked before the expert row, in the order the review workflow takes them.
      if (!isTakingWorkNow({ available: input.available, away })) await this.handOver.handOver(tx, expertId, 'expert-unavailable');
      const entry = await registry.setAvailability(tx.manager, expertId, input.available, away);
      if (entry) emitRegistryChange(tx, { entry, removed: false, source: 'api', actor });
      return entry;
    });
    return viewOf(changed ?? (await registry.find(this.dataSource, expertId))!);
  }

  /** One registry change with its events; a deadlock with the review workflow (both lock expert rows) is tried again. */
  private async changeRegistry<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.publisher.transaction(work);
      } catch (error) {
        const code = (error as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (error as { code?: string }).code;
        if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }
}

function isTakingWorkNow(entry: { available: boolean; away: { from: string; until: string } | null }, now = Date.now()): boolean {
  if (!entry.available) return false;
  return !(entry.away && Date.parse(entry.away.from) <= now && now < Date.parse(entry.away.until));
}

function expertIdOf(id: string): string {
  const parsed = ExpertId.safeParse(id);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the expert id is invalid', [{ path: 'id', message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

function notFound(id: string): ProblemError {
  return new ProblemError(404, 'not-found', 'Not Found', `no expert ${id}`);
}
