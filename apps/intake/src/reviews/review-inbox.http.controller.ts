import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { hasRole, type Principal } from '@agf/access-domain';
import { ExpertId, LIMITS, type ReviewInboxItem } from '@agf/contracts';
import { AccessRefusals, CurrentPrincipal, ProblemError, Roles } from '@agf/platform';
import type { Request } from 'express';
import { RequestVisibility } from '../requests/request-visibility';
import { decodeCursor, encodeCursor, type InboxCursor, ReviewInboxRepository } from './review-inbox.repository';

interface InboxQuery {
  assignee?: string;
  status?: string;
  limit?: string;
  cursor?: string;
}

const notFoundDetail = (id: string): string => `no assignment ${id}`;

/**
 * A reviewer's inbox: the assignments of the experts the caller is bound to, most urgent first. A reviewer
 * reads only their own (`assignee=me`); an admin or auditor may read any expert's (`assignee=<expertId>`).
 */
@Controller('v1/reviews')
@Roles('reviewer', 'admin', 'auditor')
export class ReviewInboxHttpController {
  constructor(
    private readonly inbox: ReviewInboxRepository,
    private readonly visibility: RequestVisibility,
    private readonly refusals: AccessRefusals,
  ) {}

  @Get()
  async list(@Query() query: InboxQuery, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    const { assignee, status, limit, cursor } = parseInboxQuery(query);
    let experts: string[];
    if (assignee === 'me') {
      experts = [...this.visibility.expertsOf(principal)];
    } else {
      if (!hasRole(principal, 'admin', 'auditor')) throw this.refusals.refuseHttp(req, 'forbidden', 'a reviewer reads their own inbox only (assignee=me)');
      experts = [assignee];
    }
    const page = await this.inbox.page(experts, status, limit, cursor);
    return { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
  }

  @Get(':assignmentId')
  async get(@Param('assignmentId') assignmentId: string, @Req() req: Request, @CurrentPrincipal() principal: Principal): Promise<ReviewInboxItem> {
    const item = await this.inbox.item(assignmentId);
    if (!item) throw new ProblemError(404, 'not-found', 'Not Found', notFoundDetail(assignmentId));
    // Someone else's assignment is answered like an unknown one, and the attempt recorded.
    if (!hasRole(principal, 'admin', 'auditor') && !this.visibility.expertsOf(principal).has(item.asked.expertId)) {
      throw this.refusals.refuseHttp(req, 'not-visible', notFoundDetail(assignmentId));
    }
    return item;
  }
}

function parseInboxQuery(query: InboxQuery): { assignee: string; status: 'pending' | 'all'; limit: number; cursor: InboxCursor | undefined } {
  const errors: Array<{ path: string; message: string }> = [];
  const single = (name: keyof InboxQuery): string | undefined => {
    const value: unknown = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      errors.push({ path: name, message: 'expected one value' });
      return undefined;
    }
    return value;
  };
  const assignee = single('assignee') ?? 'me';
  if (assignee !== 'me' && !ExpertId.safeParse(assignee).success) errors.push({ path: 'assignee', message: 'expected me or an expert id ([A-Za-z0-9_-]{1,128})' });
  const status = single('status') ?? 'pending';
  if (status !== 'pending' && status !== 'all') errors.push({ path: 'status', message: 'expected pending or all' });
  const limitText = single('limit');
  const limit = limitText === undefined ? LIMITS.inboxPageDefault : Number(limitText);
  if (limitText !== undefined && (!/^\d{1,3}$/.test(limitText) || limit < 1 || limit > LIMITS.inboxPageMax)) {
    errors.push({ path: 'limit', message: `expected an integer 1-${LIMITS.inboxPageMax}` });
  }
  const cursorText = single('cursor');
  const cursor = cursorText === undefined ? undefined : decodeCursor(cursorText);
  if (cursorText !== undefined && !cursor) errors.push({ path: 'cursor', message: 'expected the nextCursor of an earlier page' });
  if (errors.length) throw new ProblemError(400, 'invalid-query', 'Bad Request', 'the query is invalid', errors);
  return { assignee, status: status as 'pending' | 'all', limit, cursor };
}
