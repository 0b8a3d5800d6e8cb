import { createHash, randomBytes } from 'node:crypto';

/** Every AGF API key starts with this, so a bearer credential is told apart from a JWT (and found by secret scanners). */
export const API_KEY_PREFIX = 'agf_';

/** A new key: 32 random bytes, base64url, after the prefix. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** What AGF stores and shares of a key: SHA-256 suffices for 256 random bits (no password to stretch). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX);
}
