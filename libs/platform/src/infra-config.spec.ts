import { ConfigError, loadInfraConfig } from './infra-config';

describe('infrastructure configuration', () => {
  it('defaults to the local servers and the port of each service', () => {
    expect(loadInfraConfig('intake', {})).toMatchObject({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/agf', NATS_URL: 'nats://127.0.0.1:4222', port: 3000, schema: 'intake' });
    expect(loadInfraConfig('compliance', { COMPLIANCE_PORT: '4105' }).port).toBe(4105);
  });

  it.each([
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: expected a postgres:\/\/ URL/],
    [{ NATS_URL: 'http://x' }, /NATS_URL: expected nats:\/\/host:port/],
    [{ RISK_PORT: 'eighty' }, /RISK_PORT/],
    [{ AGF_NAMESPACE: 'a.b' }, /AGF_NAMESPACE: expected up to 32 characters/],
    [{ AGF_OUTBOX_RELAY: 'maybe' }, /AGF_OUTBOX_RELAY/],
  ])('stops on %j naming the variable', (env, message) => {
    expect(() => loadInfraConfig('risk', env)).toThrow(ConfigError);
    expect(() => loadInfraConfig('risk', env)).toThrow(message);
  });
});
