/** Delay before redelivering a failed message: exponential with a cap, so a flapping dependency is not hammered. */
export function redeliveryDelayMs(deliveryCount: number, baseMs: number, maxMs = 30_000): number {
  const exponent = Math.max(0, deliveryCount - 1);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/** NATS header values must be one line; reasons also stay short. */
export function headerSafe(text: string, max = 512): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, max);
}

/** SQLSTATEs of a database that is down, restarting or out of connections (classes 08 and 57P, and 53300). */
const UNAVAILABLE_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|is not currently accepting connections/i;

/**
 * Whether a handler failed because Postgres could not be reached or had no connection to give (TypeORM wraps
 * the driver's error in `driverError`). Such a failure says nothing about the message.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const { code, message, driverError } = e as { code?: unknown; message?: unknown; driverError?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNREACHABLE_CODES.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = driverError;
  }
  return false;
}
