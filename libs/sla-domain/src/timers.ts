import { createHash } from 'node:crypto';
import type { SlaTimerFired } from '@agf/contracts';

export type TimerKind = 'warning' | 'breached';

/** Share of the SLA that has passed when each timer is due. */
export const TIMER_FRACTIONS: Readonly<Record<TimerKind, 0.75 | 1>> = { warning: 0.75, breached: 1 };

export const TIMER_KINDS: readonly TimerKind[] = ['warning', 'breached'];

const MS_PER_HOUR = 3_600_000;

export interface PlannedTimer {
  kind: TimerKind;
  fraction: 0.75 | 1;
  dueAt: Date;
}

export interface SlaWindow {
  assignedAt: Date | string;
  slaDueAt: Date | string;
}

function toDate(value: Date | string, field: string): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(value.getTime());
  if (Number.isNaN(date.getTime())) throw new RangeError(`${field}: not a valid date/time: ${String(value)}`);
  return date;
}

/** SLA hours may be fractional (tests use a few seconds); rounded to whole milliseconds. */
export function slaDueAt(assignedAt: Date | string, hours: number): Date {
  if (!Number.isFinite(hours) || hours < 0) throw new RangeError(`slaHours: expected a finite number >= 0, got ${hours}`);
  const start = toDate(assignedAt, 'assignedAt');
  return new Date(start.getTime() + Math.round(hours * MS_PER_HOUR));
}

/**
 * The two timers of one assignment: warning at 75 % and breach at 100 % of the window between assignment
 * and SLA due time. A due time before the assignment (clock skew upstream) counts as an empty window, so both
 * timers are due at once rather than in the past of each other.
 */
export function timersFor(window: SlaWindow): PlannedTimer[] {
  const start = toDate(window.assignedAt, 'assignedAt').getTime();
  const end = toDate(window.slaDueAt, 'slaDueAt').getTime();
  const length = Math.max(0, end - start);
  return TIMER_KINDS.map((kind) => {
    const fraction = TIMER_FRACTIONS[kind];
    return { kind, fraction, dueAt: new Date(start + Math.round(fraction * length)) };
  });
}

/**
 * How long the scheduler may sleep: until the next due time, but never longer than `maxMs`, so timers
 * stored by other replicas (or rows it could not see yet) are picked up promptly. Nothing due → `maxMs`.
 */
export function nextWakeDelay(nextDueAt: Date | string | null | undefined, now: Date, maxMs: number): number {
  if (nextDueAt === null || nextDueAt === undefined) return maxMs;
  const delay = toDate(nextDueAt, 'nextDueAt').getTime() - now.getTime();
  return Math.min(maxMs, Math.max(0, Math.ceil(delay)));
}

/**
 * Event id of one timer's firing, a pure function of (assignment, kind): two replicas (or a retry) that
 * fire the same timer publish the same `Nats-Msg-Id`, which JetStream and the outbox de-duplicate.
 * Formatted as an RFC 9562 version 8 UUID (custom, hash-based: SHA-256 where v5 would use SHA-1).
 */
export function timerEventId(assignmentId: string, kind: TimerKind): string {
  const bytes = createHash('sha256').update(`agf.sla.timer:${assignmentId.toLowerCase()}:${kind}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How late a timer fired, in seconds (never negative). */
export function firingLagSeconds(dueAt: Date | string, firedAt: Date | string): number {
  return Math.max(0, (toDate(firedAt, 'firedAt').getTime() - toDate(dueAt, 'dueAt').getTime()) / 1000);
}

export interface StoredTimer {
  assignmentId: string;
  kind: TimerKind;
  requestId: string;
  projectId: string;
  expertId: string;
  tierLevel: 0 | 1 | 2;
  assignedAt: Date | string;
  slaDueAt: Date | string;
  dueAt: Date | string;
}

/** The `sla.warning` / `sla.breached` payload of a timer that fired. */
export function timerFiredPayload(timer: StoredTimer, firedAt: Date | string): SlaTimerFired {
  const iso = (value: Date | string, field: string) => toDate(value, field).toISOString();
  return {
    requestId: timer.requestId,
    projectId: timer.projectId,
    assignmentId: timer.assignmentId,
    expertId: timer.expertId,
    tierLevel: timer.tierLevel,
    assignedAt: iso(timer.assignedAt, 'assignedAt'),
    slaDueAt: iso(timer.slaDueAt, 'slaDueAt'),
    dueAt: iso(timer.dueAt, 'dueAt'),
    firedAt: iso(firedAt, 'firedAt'),
    fraction: TIMER_FRACTIONS[timer.kind],
  };
}

/** Event name per timer kind. */
export function timerEventName(kind: TimerKind): 'sla.warning' | 'sla.breached' {
  return kind === 'warning' ? 'sla.warning' : 'sla.breached';
}
