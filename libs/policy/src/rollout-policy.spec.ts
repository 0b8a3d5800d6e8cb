import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from './load-policy';
import { prometheusQueries, rolloutSettings } from './rollout-policy';

const shipped = readFileSync(join(__dirname, '..', '..', '..', 'agf-config.yaml'), 'utf8');

describe('rollout: in agf-config.yaml', () => {
  it('defaults to 30 s evaluations, tighter for emergencies', () => {
    const policy = parsePolicy(shipped);
    expect(rolloutSettings(policy.rollout, false)).toEqual({ evaluation_interval_seconds: 30, signal_max_age_seconds: 120, inconclusive_limit: 3, threshold_factor: 1 });
    expect(rolloutSettings(policy.rollout, true)).toEqual({ evaluation_interval_seconds: 10, signal_max_age_seconds: 60, inconclusive_limit: 2, threshold_factor: 0.5 });
  });

  it('reads Prometheus queries, a project replacing the defaults of the same name', () => {
    const policy = parsePolicy(`${shipped}\nrollout:\n  evaluation_interval_seconds: 10\n  prometheus:\n    url: http://prom:9090\n    queries: { error_rate: 'a', latency_p99_ms: 'b' }\n    projects: { shop: { error_rate: 'c' } }\n`);
    expect(policy.rollout?.rollback_target_minutes).toBe(15);
    expect(rolloutSettings(policy.rollout, false).evaluation_interval_seconds).toBe(10);
    expect(prometheusQueries(policy.rollout, 'shop')).toEqual({ error_rate: 'c', latency_p99_ms: 'b' });
    expect(prometheusQueries(policy.rollout, 'other')).toEqual({ error_rate: 'a', latency_p99_ms: 'b' });
    expect(prometheusQueries(undefined, 'other')).toEqual({});
  });

  it.each([
    ['an unknown key', 'evaluation_interval_secs: 10', /rollout: Unrecognized key/],
    ['a bad URL', 'prometheus:\n    url: not-a-url', /rollout\.prometheus\.url/],
    ['a zero interval', 'evaluation_interval_seconds: 0', /rollout\.evaluation_interval_seconds/],
    ['a bad signal name', "prometheus:\n    url: http://p:9090\n    queries: { 'Error Rate': 'x' }", /rollout\.prometheus\.queries/],
  ])('names %s', (_, yaml, message) => {
    expect(() => parsePolicy(`${shipped}\nrollout:\n  ${yaml}\n`)).toThrow(message);
  });
});
