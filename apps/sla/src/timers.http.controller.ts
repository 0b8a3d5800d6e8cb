import { Controller, Get, Query } from '@nestjs/common';
import { Uuid } from '@agf/contracts';
import { ProblemError, Roles } from '@agf/platform';
import { DataSource } from 'typeorm';
import { type TimerRow, timersRepository as repo } from './timers.repository';

export interface TimerView {
  assignmentId: string;
  kind: string;
  fraction: number;
  expertId: string;
  tierLevel: number;
  assignedAt: string;
  slaDueAt: string;
  dueAt: string;
  status: 'scheduled' | 'fired' | 'cancelled';
  firedAt: string | null;
  cancelledAt: string | null;
  cancelReason: string | null;
}

/** Operators' view of one request's SLA timers. */
@Controller('v1/timers')
@Roles('admin', 'auditor')
export class TimersHttpController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  async list(@Query('requestId') requestId: string | undefined): Promise<{ requestId: string; timers: TimerView[] }> {
    if (!requestId || !Uuid.safeParse(requestId).success) {
      throw new ProblemError(400, 'invalid-request', 'Bad Request', 'requestId must be a UUID', [{ path: 'requestId', message: 'expected a UUID' }]);
    }
    const timers = await repo.timersOfRequest(this.dataSource, requestId);
    return { requestId, timers: timers.map(toView) };
  }
}

function toView(t: TimerRow): TimerView {
  const iso = (d: Date | string) => new Date(d).toISOString();
  return {
    assignmentId: t.assignmentId,
    kind: t.kind,
    fraction: t.fraction,
    expertId: t.expertId,
    tierLevel: t.tierLevel,
    assignedAt: iso(t.assignedAt),
    slaDueAt: iso(t.slaDueAt),
    dueAt: iso(t.dueAt),
    status: t.firedAt ? 'fired' : t.cancelledAt ? 'cancelled' : 'scheduled',
    firedAt: t.firedAt ? iso(t.firedAt) : null,
    cancelledAt: t.cancelledAt ? iso(t.cancelledAt) : null,
    cancelReason: t.cancelReason,
  };
}
