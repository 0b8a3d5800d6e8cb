import { randomUUID } from 'node:crypto';
import { CATALOG, MESSAGE_NAMES, messageNameOfSubject, subjectFilterFor, subjectFor } from './catalog';
import { createEvent, parseEvent } from './envelope';
import { STREAMS } from './streams';
import { findUnstorableStrings, findUnsafeKeys, jsonDepth } from './unsafe-input';
import { DeploymentRequestInput } from './deployment-request';
import { aDeploymentRequestInput } from './testing';

describe('catalog', () => {
  it.each([
    ['decision.made', 'payments-api', 'agf.v1.decision.made.payments-api'],
    ['deployment.requested', 'p_1', 'agf.v1.deployment.requested.p_1'],
    ['review.requested', 'security_agent_1', 'agf.v1.review.requested.security_agent_1'],
    ['intake.submit', undefined, 'agf.v1.intake.submit'],
  ] as const)('%s for %s is %s, and maps back', (name, token, subject) => {
    expect(subjectFor(name, token)).toBe(subject);
    expect(messageNameOfSubject(subject)).toBe(name);
  });

  it('needs the token a subject is about', () => {
    expect(() => subjectFor('decision.made')).toThrow(/needs a projectId/);
  });

  it.each(MESSAGE_NAMES)('%s lives in a stream whose subjects cover it', (name) => {
    const filter = subjectFilterFor(name);
    const prefixes = STREAMS[CATALOG[name].stream].subjects.map((s) => s.replace(/>$/, ''));
    expect(prefixes.some((prefix) => filter.startsWith(prefix))).toBe(true);
  });

  it('does not mistake a longer event name for a shorter one', () => {
    expect(messageNameOfSubject('agf.v1.review.submit.p')).toBe('review.submit');
    expect(messageNameOfSubject('agf.v1.unknown.thing.p')).toBeUndefined();
  });
});

describe('CloudEvents envelope', () => {
  const data = {
    requestId: randomUUID(),
    projectId: 'p',
    componentName: 'c',
    version: '1',
    status: 'failed' as const,
    reportedAt: new Date().toISOString(),
  };

  it('round-trips through parseEvent with correlation and causation ids', () => {
    const cause = randomUUID();
    const event = createEvent({ name: 'deployment.outcome', source: 'intake', data, correlationId: data.requestId, causationId: cause });
    const parsed = parseEvent('deployment.outcome', JSON.parse(JSON.stringify(event)));
    expect(parsed).toEqual({ ok: true, value: event });
    expect(event).toMatchObject({ specversion: '1.0', type: 'io.agf.deployment.outcome.v1', source: 'agf/intake', subject: data.requestId, correlationid: data.requestId, causationid: cause });
  });

  it.each([
    ['a wrong type', (e: Record<string, unknown>) => ({ ...e, type: 'io.agf.decision.made.v1' }), 'type'],
    ['bad data', (e: Record<string, unknown>) => ({ ...e, data: { ...data, status: 'exploded' } }), 'data.status'],
    ['no id', (e: Record<string, unknown>) => ({ ...e, id: undefined }), 'id'],
    // Ids the audit trail stores and indexes: a longer one could not be recorded.
    ['a correlation id over 256 characters', (e: Record<string, unknown>) => ({ ...e, correlationid: 'c'.repeat(257) }), 'correlationid'],
    ['a causation id over 256 characters', (e: Record<string, unknown>) => ({ ...e, causationid: 'c'.repeat(257) }), 'causationid'],
  ])('rejects %s naming the field', (_case, mutate, path) => {
    const event = createEvent({ name: 'deployment.outcome', source: 'intake', data, correlationId: data.requestId }) as unknown as Record<string, unknown>;
    const parsed = parseEvent('deployment.outcome', mutate(event));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues.map((i) => i.path)).toContain(path);
  });
});

describe('deployment request input', () => {
  it('keeps unknown risk indicators', () => {
    const parsed = DeploymentRequestInput.parse(aDeploymentRequestInput({ riskIndicators: { codeChanges: 3, teamSpecificSignal: 'x' } }));
    expect(parsed.riskIndicators['teamSpecificSignal']).toBe('x');
  });

  it.each([
    [{ projectId: 'a.b' }, 'projectId'],
    [{ riskIndicators: { vulnerabilities: { critical: -1 } } }, 'riskIndicators.vulnerabilities.critical'],
    [{ riskIndicators: { completionPercentage: 101 } }, 'riskIndicators.completionPercentage'],
    [{ riskIndicators: { affectedProjects: ['ok', 'not ok'] } }, 'riskIndicators.affectedProjects.1'],
    // Times every service can store in Postgres and write back as ISO strings.
    [{ timestamp: '0000-01-01T00:00:00Z' }, 'timestamp'],
    [{ timestamp: '1970-01-01T00:00:00+05:00' }, 'timestamp'],
    [{ timestamp: '9999-12-31T23:00:00-05:00' }, 'timestamp'],
  ])('rejects %j at %s', (override, path) => {
    const result = DeploymentRequestInput.safeParse({ ...aDeploymentRequestInput(), ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('unsafe keys, NUL characters and depth', () => {
  it.each([
    [JSON.parse('{"__proto__":{"x":1}}'), ['__proto__']],
    [{ a: [{ constructor: 1 }] }, ['a.0.constructor']],
    [{ a: { prototype: {} }, b: 1 }, ['a.prototype']],
    [{ a: { b: 'constructor' } }, []],
  ])('finds %j → %j', (value, paths) => {
    expect(findUnsafeKeys(value)).toEqual(paths);
  });

  it.each([
    // Keys are named as JSON escapes them: the path itself must be storable (it goes into rejection events).
    [JSON.parse('{"a":"x\\u0000y","b":["ok","\\u0000"],"c":{"k\\u0000":1,"\\ud800\\ud83d\\ude80":2}}'), ['a', 'b.1', 'c.k\\u0000', 'c.\\ud800🚀']],
    ['\u0000', ['(body)']],
    [{ a: 'no NUL here', b: '\\u0000 spelled out', c: '🚀 a whole pair' }, []],
    [{ lone: 'x\ud800', reversed: '\ude80\ud83d' }, ['lone', 'reversed']],
  ])('finds the NUL characters and unpaired surrogates of %j at %j', (value, paths) => {
    expect(findUnstorableStrings(value)).toEqual(paths);
  });

  it('measures nesting', () => {
    expect(jsonDepth({ a: { b: { c: 1 } } })).toBe(3);
    expect(jsonDepth('x')).toBe(0);
  });
});
