import { githubSignature, githubSignatureValid, gitlabTokenValid } from './signatures';

describe('githubSignatureValid', () => {
  const body = Buffer.from('{"action":"requested"}');
  it('accepts the HMAC-SHA256 of the raw body under the secret', () => {
    expect(githubSignatureValid(body, githubSignature(body, 's3cret'), 's3cret')).toBe(true);
  });
  it.each([
    ['missing', undefined],
    ['another secret', githubSignature(body, 'other')],
    ['another body', githubSignature('{"action":"requested" }', 's3cret')],
    ['sha1 form', 'sha1=0123456789abcdef0123456789abcdef01234567'],
    ['garbage', 'sha256=zz'],
  ])('refuses a %s signature', (_, header) => {
    expect(githubSignatureValid(body, header, 's3cret')).toBe(false);
  });
  it('refuses everything when no secret is configured', () => {
    expect(githubSignatureValid(body, githubSignature(body, ''), '')).toBe(false);
  });
});

describe('gitlabTokenValid', () => {
  it('accepts exactly the configured token', () => {
    expect(gitlabTokenValid('tok', 'tok')).toBe(true);
    expect(gitlabTokenValid('tok2', 'tok')).toBe(false);
    expect(gitlabTokenValid(undefined, 'tok')).toBe(false);
    expect(gitlabTokenValid('', '')).toBe(false);
  });
});
