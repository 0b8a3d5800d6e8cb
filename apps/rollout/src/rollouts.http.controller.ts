import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { actorOf, canReadProject, canSubmitFor, type Principal } from '@agf/access-domain';
import { describeIssues, findJsonInputProblem, RolloutReportInput, type RolloutView, SignalInput } from '@agf/contracts';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import type { z } from 'zod';
import { notFound, RolloutGuard, type RolloutSubject } from './rollout-guard';

const uuid = new ParseUUIDPipe({ exceptionFactory: () => new ProblemError(400, 'invalid-request', 'Bad Request', 'the id must be a UUID', [{ path: 'id', message: 'expected a UUID' }]) });

/**
 * A rollout's progress and health signals, reported by a submitter of the request's project (the pipeline), and its
 * status for anyone who may read the project.
 */
@Controller('v1/deployment-requests/:id')
export class RolloutsHttpController {
  constructor(
    private readonly guard: RolloutGuard,
    private readonly refusals: AccessRefusals,
  ) {}

  @Post('rollout')
  @Roles('submitter')
  @HttpCode(200)
  async report(@Param('id', uuid) id: string, @Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<RolloutView> {
    const input = parseJsonBody(req, body, RolloutReportInput);
    return this.guard.report(id, input.phase, input.percent, actorOf(principal, 'http'), (subject) => this.mayWrite(req, principal, id, subject));
  }

  @Post('signals')
  @Roles('submitter')
  @HttpCode(202)
  async signal(@Param('id', uuid) id: string, @Req() req: Request, @Body() body: unknown, @CurrentPrincipal() principal: Principal) {
    const input = parseJsonBody(req, body, SignalInput);
    return this.guard.signal(id, input, (subject) => this.mayWrite(req, principal, id, subject));
  }

  @Get('rollout')
  @Roles('submitter', 'auditor')
  async status(@Param('id', uuid) id: string, @Req() req: Request, @CurrentPrincipal() principal: Principal): Promise<RolloutView> {
    const view = await this.guard.view(id);
    if (!view) throw notFound(id);
    if (!canReadProject(principal, view.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', notFound(id).detail!);
    return view;
  }

  private mayWrite(req: Request, principal: Principal, id: string, subject: RolloutSubject): void {
    if (!canReadProject(principal, subject.projectId)) throw this.refusals.refuseHttp(req, 'not-visible', notFound(id).detail!);
    if (!canSubmitFor(principal, subject.projectId)) throw this.refusals.refuseHttp(req, 'forbidden', `${principal.subject} may not report rollouts of project ${subject.projectId}`);
  }
}

/** Content type, unsafe keys, then the schema: the checks every JSON command body gets. */
export function parseJsonBody<S extends z.ZodType>(req: Request, body: unknown, schema: S): z.infer<S> {
  if (!req.is(['application/json', 'application/*+json'])) {
    throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send the body as application/json');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProblemError(400, 'invalid-request', 'Bad Request', 'expected a JSON object', [{ path: '(body)', message: 'expected a JSON object' }]);
  }
  const found = findJsonInputProblem(body);
  if (found) throw new ProblemError(400, 'invalid-request', 'Bad Request', `the body ${found.problem}`, found.errors);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ProblemError(400, 'invalid-request', 'Bad Request', 'the body is invalid', describeIssues(parsed.error).slice(0, 50));
  return parsed.data;
}
