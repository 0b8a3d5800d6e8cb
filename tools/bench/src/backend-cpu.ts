import { readFileSync } from 'node:fs';

/** CPU ticks (user + system) a Postgres backend has used, from /proc; undefined when it runs on another host. */
export function backendTicks(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** The backend CPU per unit of work between two readings, as text for a report. */
export function backendCpuPer(before: number | undefined, after: number | undefined, units: number): string {
  if (before === undefined || after === undefined) return 'n/a (Postgres is not on this host)';
  // USER_HZ is 100: one tick is 10 ms.
  return `${(((after - before) * 10_000) / units).toFixed(0)} µs`;
}
