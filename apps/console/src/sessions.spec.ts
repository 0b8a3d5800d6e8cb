import { parseCookies, serializeCookie, SessionStore } from './sessions';

describe('SessionStore', () => {
  const caller = { subject: 'ann', roles: ['reviewer'], projects: [], experts: ['architect_human'] };
  let now = 1_000_000;
  const store = () => new SessionStore(Buffer.alloc(32, 7), 30 * 60_000, 12 * 3600_000, () => now);

  beforeEach(() => (now = 1_000_000));

  it('finds a session by its signed cookie, and gives each its own CSRF token', () => {
    const sessions = store();
    const a = sessions.create('Bearer agf_a', caller, 'api-key');
    const b = sessions.create('Bearer agf_b', caller, 'api-key');
    expect(sessions.find(a.cookieValue)).toBe(a.session);
    expect(a.session.csrfToken).not.toBe(b.session.csrfToken);
    expect(a.session.csrfToken).toHaveLength(43);
  });

  it('refuses a forged or altered cookie, and one signed with another secret', () => {
    const sessions = store();
    const { cookieValue, session } = sessions.create('Bearer agf_a', caller, 'api-key');
    expect(sessions.find(`${session.id}.${'A'.repeat(43)}`)).toBeUndefined();
    expect(sessions.find(`${session.id}x.${cookieValue.split('.')[1]}`)).toBeUndefined();
    expect(sessions.find(session.id)).toBeUndefined();
    expect(sessions.find(undefined)).toBeUndefined();
    const other = new SessionStore(Buffer.alloc(32, 8), 30 * 60_000, 12 * 3600_000, () => now);
    expect(other.find(cookieValue)).toBeUndefined();
  });

  it('ends a session after its idle time, its maximum age, or the credential expiry, whichever is first', () => {
    const sessions = store();
    const idle = sessions.create('Bearer agf_a', caller, 'api-key');
    now += 29 * 60_000;
    expect(sessions.find(idle.cookieValue)).toBeDefined();
    now += 29 * 60_000; // used 29 minutes ago: still alive
    expect(sessions.find(idle.cookieValue)).toBeDefined();
    now += 30 * 60_000;
    expect(sessions.find(idle.cookieValue)).toBeUndefined();

    const token = sessions.create('Bearer eyJ', caller, 'oidc', now + 5 * 60_000);
    now += 5 * 60_000;
    expect(sessions.find(token.cookieValue)).toBeUndefined();

    const busy = sessions.create('Bearer agf_b', caller, 'api-key');
    for (let i = 0; i < 26; i += 1) {
      now += 29 * 60_000;
      sessions.find(busy.cookieValue);
    }
    expect(sessions.find(busy.cookieValue)).toBeUndefined(); // over 12 hours, however busy
  });

  it('forgets a session that was signed out', () => {
    const sessions = store();
    const { cookieValue, session } = sessions.create('Bearer agf_a', caller, 'api-key');
    expect(sessions.isLive(session.id)).toBe(true);
    sessions.end(session.id);
    expect(sessions.find(cookieValue)).toBeUndefined();
    expect(sessions.isLive(session.id)).toBe(false);
    expect(sessions.size).toBe(0);
  });
});

describe('cookies', () => {
  it('writes HttpOnly, SameSite cookies, Secure only when asked', () => {
    expect(serializeCookie('s', 'a.b', { secure: true, sameSite: 'Strict' })).toBe('s=a.b; Path=/; HttpOnly; SameSite=Strict; Secure');
    expect(serializeCookie('s', '', { secure: false, sameSite: 'Lax', path: '/cb', maxAge: 0 })).toBe('s=; Path=/cb; HttpOnly; SameSite=Lax; Max-Age=0');
  });

  it('reads the first cookie of a name', () => {
    expect(parseCookies('a=1; b=x%20y; a=2; broken; =v; c=%E0%A4%A')).toEqual(new Map([['a', '1'], ['b', 'x y']]));
    expect(parseCookies(undefined).size).toBe(0);
  });
});
