import { createHash } from 'node:crypto';
import type { Principal } from '@agf/access-domain';

/**
 * Principals of bearer tokens this process has verified, for a short while. A pipeline sends the same token
 * with every request until it expires, and an RS256 verification per request was 7 % of intake's CPU under
 * load. An entry lasts until the token would be refused anyway (its `exp` plus the clock skew the
 * verification allows) or `maxAgeMs`, whichever comes first; tokens are keyed by their SHA-256, so the cache
 * holds no bearer credential. Only verified tokens enter it: a refusal is verified (and audited) every time.
 * A key the issuer withdraws is trusted for as long as the JWKS cache keeps it (10 minutes) whether or not
 * its tokens are cached here, so `maxAgeMs` stays well below that.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { principal: Principal; validUntilMs: number }>();

  constructor(
    private readonly options: { maxEntries: number; maxAgeMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  principalOf(token: string): Principal | undefined {
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() < entry.validUntilMs) return entry.principal;
    this.entries.delete(key);
    return undefined;
  }

  /** `acceptedUntilMs`: when the verification itself would start refusing the token (exp + clock skew). */
  remember(token: string, principal: Principal, acceptedUntilMs: number): void {
    const validUntilMs = Math.min(acceptedUntilMs, this.now() + this.options.maxAgeMs);
    if (validUntilMs <= this.now()) return;
    // The oldest entry goes first (a Map keeps insertion order); a full cache means many distinct callers.
    if (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(keyOf(token), { principal, validUntilMs });
  }
}

function keyOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
