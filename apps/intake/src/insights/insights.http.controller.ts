import { Controller, Get, Query } from '@nestjs/common';
import { ProjectId } from '@agf/contracts';
import { ProblemError, Roles } from '@agf/platform';
import { type InsightsPeriod, InsightsRepository } from './insights.repository';

/** The longest period one report covers; longer ones would scan too much of the read model at once. */
const MAX_PERIOD_DAYS = 366;
const DEFAULT_PERIOD_DAYS = 30;

/**
 * `GET /v1/insights`: figures for the console's executive and CoE dashboards and its escalation queue, overall
 * and per project, over a period (default: the last 30 days). Read-only, for admins and auditors (who read
 * every project's requests anyway).
 */
@Controller('v1/insights')
@Roles('admin', 'auditor')
export class InsightsHttpController {
  constructor(private readonly insights: InsightsRepository) {}

  @Get()
  async report(@Query('from') from: unknown, @Query('to') to: unknown, @Query('projectId') projectId: unknown) {
    return this.insights.report(parsePeriod(from, to, projectId));
  }
}

export function parsePeriod(fromText: unknown, toText: unknown, projectText: unknown, now = new Date()): InsightsPeriod {
  const errors: Array<{ path: string; message: string }> = [];
  const instant = (name: string, value: unknown, fallback: Date): Date => {
    if (value === undefined || value === '') return fallback;
    const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? new Date(value) : new Date(NaN);
    if (Number.isNaN(parsed.getTime())) errors.push({ path: name, message: 'expected an ISO 8601 date or date-time' });
    return parsed;
  };
  const to = instant('to', toText, now);
  const from = instant('from', fromText, new Date(to.getTime() - DEFAULT_PERIOD_DAYS * 86_400_000));
  if (!errors.length && from.getTime() >= to.getTime()) errors.push({ path: 'from', message: 'expected a time before `to`' });
  if (!errors.length && to.getTime() - from.getTime() > MAX_PERIOD_DAYS * 86_400_000) errors.push({ path: 'from', message: `expected a period of at most ${MAX_PERIOD_DAYS} days` });
  let projectId: string | undefined;
  if (projectText !== undefined && projectText !== '') {
    if (typeof projectText === 'string' && ProjectId.safeParse(projectText).success) projectId = projectText;
    else errors.push({ path: 'projectId', message: 'expected one project id' });
  }
  if (errors.length) throw new ProblemError(400, 'invalid-query', 'Bad Request', 'the query is invalid', errors);
  return { from, to, ...(projectId ? { projectId } : {}) };
}
