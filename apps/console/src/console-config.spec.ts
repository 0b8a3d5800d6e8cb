import { loadConsoleConfig } from './console-config';

describe('loadConsoleConfig', () => {
  it('reaches every service on 127.0.0.1 at its port by default, with cookies Secure only behind https', () => {
    const config = loadConsoleConfig({});
    expect(config.port).toBe(3006);
    expect(config.services.intake).toBe('http://127.0.0.1:3000');
    expect(config.services.compliance).toBe('http://127.0.0.1:3005');
    expect(config).not.toHaveProperty('services.console');
    expect(loadConsoleConfig({ INTAKE_PORT: '4000' }).services.intake).toBe('http://127.0.0.1:4000');
    expect(config.secureCookies).toBe(false);
    expect(config.publicUrl.href).toBe('http://localhost:3006/');
    expect(loadConsoleConfig({ CONSOLE_PORT: '4006' }).publicUrl.href).toBe('http://localhost:4006/');
    expect(config.oidc).toBeUndefined();
    expect(loadConsoleConfig({ AGF_CONSOLE_PUBLIC_URL: 'https://agf.example.com' }).secureCookies).toBe(true);
  });

  it('takes service URLs by name, and refuses an unknown name or a bad URL', () => {
    expect(loadConsoleConfig({ AGF_CONSOLE_SERVICE_URLS: 'intake=http://intake:3000/, coe=https://coe.internal' }).services).toMatchObject({ intake: 'http://intake:3000', coe: 'https://coe.internal' });
    expect(() => loadConsoleConfig({ AGF_CONSOLE_SERVICE_URLS: 'billing=http://x:1' })).toThrow(/AGF_CONSOLE_SERVICE_URLS/);
    expect(() => loadConsoleConfig({ AGF_CONSOLE_SERVICE_URLS: 'intake=ftp://x' })).toThrow(/AGF_CONSOLE_SERVICE_URLS/);
  });

  it('signs in with OIDC only with a client id and an issuer; a short session secret is refused', () => {
    const env = { AGF_OIDC_ISSUER: 'https://id.example.com', AGF_OIDC_AUDIENCE: 'agf', AGF_CONSOLE_OIDC_CLIENT_ID: 'agf-console' };
    expect(loadConsoleConfig(env).oidc).toMatchObject({ issuer: 'https://id.example.com', clientId: 'agf-console', scope: 'openid profile' });
    expect(() => loadConsoleConfig({ AGF_CONSOLE_OIDC_CLIENT_ID: 'agf-console' })).toThrow(/AGF_OIDC_ISSUER/);
    expect(() => loadConsoleConfig({ AGF_CONSOLE_SESSION_SECRET: 'short' })).toThrow(/AGF_CONSOLE_SESSION_SECRET/);
  });
});
