import { actorOf, boundExperts, canReadProject, canSubmitFor, hashApiKey, generateApiKey, looksLikeApiKey, type Principal, principalFromClaims, readableProjects } from './index';

const principal = (overrides: Partial<Principal>): Principal => ({ subject: 'someone', roles: [], projects: [], ...overrides });
const mapping = { roles_claim: 'agf_roles', projects_claim: 'agf_projects', groups_claim: 'groups', group_roles: { 'release-reviewers': ['reviewer' as const] } };

describe('project scope', () => {
  it.each([
    ['a submitter of A reads A', principal({ roles: ['submitter'], projects: ['A'] }), 'A', true],
    ['a submitter of A does not read B', principal({ roles: ['submitter'], projects: ['A'] }), 'B', false],
    ['a submitter of * reads B', principal({ roles: ['submitter'], projects: ['*'] }), 'B', true],
    ['an auditor reads any project, whatever its scope', principal({ roles: ['auditor'] }), 'B', true],
    ['an admin alone reads nothing', principal({ roles: ['admin'], projects: ['*'] }), 'B', false],
    ['a reviewer reads no project as such (only its assignments)', principal({ roles: ['reviewer'], projects: ['*'] }), 'B', false],
  ])('%s', (_case, who, project, expected) => {
    expect(canReadProject(who, project)).toBe(expected);
  });

  it('only a submitter of the project submits for it; an auditor never does', () => {
    expect(canSubmitFor(principal({ roles: ['submitter'], projects: ['A'] }), 'A')).toBe(true);
    expect(canSubmitFor(principal({ roles: ['submitter'], projects: ['A'] }), 'B')).toBe(false);
    expect(canSubmitFor(principal({ roles: ['auditor', 'admin'], projects: ['*'] }), 'A')).toBe(false);
  });

  it('narrows a query over many projects to the readable ones', () => {
    expect(readableProjects(principal({ roles: ['auditor'] }))).toBe('all');
    expect(readableProjects(principal({ roles: ['submitter'], projects: ['*'] }))).toBe('all');
    expect(readableProjects(principal({ roles: ['submitter'], projects: ['A', 'C'] }))).toEqual(['A', 'C']);
    expect(readableProjects(principal({ roles: ['reviewer'], projects: ['*'] }))).toEqual([]);
  });
});

describe('experts a principal answers for', () => {
  const experts = [
    { id: 'security_expert_human', principal: ['alice'] },
    { id: 'sre_human', principal: ['sofia', 'alice'] },
    { id: 'security_agent_1', principal: [] },
  ];

  it('are those naming its subject, when it holds the reviewer role', () => {
    expect(boundExperts(principal({ subject: 'alice', roles: ['reviewer'] }), experts).map((e) => e.id)).toEqual(['security_expert_human', 'sre_human']);
  });

  it('are none without the reviewer role: admin does not make a reviewer', () => {
    expect(boundExperts(principal({ subject: 'alice', roles: ['admin', 'auditor', 'submitter'], projects: ['*'] }), experts)).toEqual([]);
  });

  it('are none for a subject no expert names (an expert id is not a subject)', () => {
    expect(boundExperts(principal({ subject: 'security_agent_1', roles: ['reviewer'] }), experts)).toEqual([]);
  });
});

describe('claims', () => {
  it('map to roles (known ones only, plus those of groups) and projects', () => {
    const mapped = principalFromClaims({ sub: 'alice', agf_roles: ['submitter', 'root'], agf_projects: ['A'], groups: ['release-reviewers', 'staff'] }, 'https://idp', mapping);
    expect(mapped).toEqual({ subject: 'alice', issuer: 'https://idp', roles: ['submitter', 'reviewer'], projects: ['A'] });
  });

  it('read a single string as a one-item list, and other types as nothing', () => {
    expect(principalFromClaims({ sub: 'bob', agf_roles: 'auditor', agf_projects: 42 }, 'i', mapping)).toEqual({ subject: 'bob', issuer: 'i', roles: ['auditor'], projects: [] });
  });

  it('without a usable sub give no principal', () => {
    expect(principalFromClaims({ agf_roles: ['admin'] }, 'i', mapping)).toBeUndefined();
    expect(principalFromClaims({ sub: '' }, 'i', mapping)).toBeUndefined();
    expect(principalFromClaims({ sub: 'x'.repeat(257) }, 'i', mapping)).toBeUndefined();
  });
});

describe('API keys', () => {
  it('carry the agf_ prefix and 256 random bits, and are stored as a SHA-256 that differs per key', () => {
    const [a, b] = [generateApiKey(), generateApiKey()];
    expect(a).toMatch(/^agf_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashApiKey(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(a)).not.toBe(hashApiKey(b));
    expect(looksLikeApiKey(a)).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOi')).toBe(false);
  });
});

describe('actors', () => {
  it('name the subject and who vouched for it, and the door', () => {
    expect(actorOf(principal({ subject: 'alice', issuer: 'https://idp' }), 'http')).toEqual({ subject: 'alice', issuer: 'https://idp', channel: 'http' });
    expect(actorOf(principal({ subject: 'ci', apiKeyId: '7d1c3f7e-1f7a-4a52-9d1e-0c1f3f2b9a10' }), 'nats')).toEqual({ subject: 'ci', apiKeyId: '7d1c3f7e-1f7a-4a52-9d1e-0c1f3f2b9a10', channel: 'nats' });
  });
});
