import { VerifiedTokens } from './verified-tokens';

describe('verified tokens', () => {
  const alice = { subject: 'alice', roles: ['submitter' as const], projects: ['A'] };
  const bob = { subject: 'bob', roles: [], projects: [] };
  let now = 1_000_000;
  const cache = () => new VerifiedTokens({ maxEntries: 2, maxAgeMs: 60_000 }, () => now);

  beforeEach(() => (now = 1_000_000));

  it('know a verified token until it would be refused (exp + skew)', () => {
    const tokens = cache();
    tokens.remember('t1', alice, now + 5_000);
    expect(tokens.principalOf('t1')).toBe(alice);
    now += 4_999;
    expect(tokens.principalOf('t1')).toBe(alice);
    now += 1;
    expect(tokens.principalOf('t1')).toBeUndefined();
  });

  it('forget a long-lived token after maxAgeMs, so it is verified again', () => {
    const tokens = cache();
    tokens.remember('t1', alice, now + 3_600_000);
    now += 59_999;
    expect(tokens.principalOf('t1')).toBe(alice);
    now += 1;
    expect(tokens.principalOf('t1')).toBeUndefined();
  });

  it('know only the exact token, and keep nothing already past its end', () => {
    const tokens = cache();
    tokens.remember('t1', alice, now + 5_000);
    tokens.remember('t2', bob, now);
    expect(tokens.principalOf('t1x')).toBeUndefined();
    expect(tokens.principalOf('t2')).toBeUndefined();
  });

  it('drop the oldest entry when full', () => {
    const tokens = cache();
    tokens.remember('t1', alice, now + 5_000);
    tokens.remember('t2', bob, now + 5_000);
    tokens.remember('t3', bob, now + 5_000);
    expect(tokens.principalOf('t1')).toBeUndefined();
    expect(tokens.principalOf('t2')).toBe(bob);
    expect(tokens.principalOf('t3')).toBe(bob);
  });
});
