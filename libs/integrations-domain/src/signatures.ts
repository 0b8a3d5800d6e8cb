import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * GitHub signs every webhook delivery with HMAC-SHA256 of the raw body under the webhook secret, sent as
 * `X-Hub-Signature-256: sha256=<hex>`. The comparison is constant-time, so a caller learns nothing from how
 * long a wrong guess took.
 */
export function githubSignatureValid(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!secret || !header) return false;
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}

/** The header value GitHub would send for this body and secret (tests and tools sign with it). */
export function githubSignature(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * GitLab sends the webhook's secret token as is in `X-Gitlab-Token`. Both sides are hashed first so the
 * constant-time comparison also hides the secret's length.
 */
export function gitlabTokenValid(header: string | undefined, secret: string): boolean {
  if (!secret || !header) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(header), digest(secret));
}
