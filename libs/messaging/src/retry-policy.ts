/** Delay before redelivering a failed message: exponential with a cap, so a flapping dependency is not hammered. */
export function redeliveryDelayMs(deliveryCount: number, baseMs: number, maxMs = 30_000): number {
  const exponent = Math.max(0, deliveryCount - 1);
  return Math.min(maxMs, baseMs * 2 ** exponent);
}

/** NATS header values must be one line; reasons also stay short. */
export function headerSafe(text: string, max = 512): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, max);
}
