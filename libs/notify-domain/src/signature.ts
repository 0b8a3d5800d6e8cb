import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-AGF-Timestamp';
export const SIGNATURE_HEADER = 'X-AGF-Signature-256';

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>`: the timestamp is signed, so a receiver can refuse replays. */
export function webhookSignature(secret: string, timestampSeconds: number, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex')}`;
}

/** What a receiver does: recompute, compare in constant time, and refuse a timestamp too far from now. */
export function verifyWebhookSignature(secret: string, timestamp: string, rawBody: string, signature: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(nowSeconds - seconds) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, seconds, rawBody));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
