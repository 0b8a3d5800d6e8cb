import type { EntityManager } from 'typeorm';
import { DeferredWrites, onePerKey } from './message-context';
import { Namespace } from './namespace';
import { headerSafe, isDatabaseUnavailable, redeliveryDelayMs } from './retry-policy';
import { Semaphore } from './semaphore';

describe('Namespace', () => {
  it.each([
    ['', 'agf.v1.decision.made.p', 'AGF_DECISION'],
    ['t1a2b', 't1a2b.agf.v1.decision.made.p', 'T1A2B_AGF_DECISION'],
    ['my-run', 'my-run.agf.v1.decision.made.p', 'MY_RUN_AGF_DECISION'],
  ])('prefix "%s" gives %s and stream %s', (prefix, subject, stream) => {
    const ns = new Namespace(prefix);
    expect(ns.subject('agf.v1.decision.made.p')).toBe(subject);
    expect(ns.strip(subject)).toBe('agf.v1.decision.made.p');
    expect(ns.stream('AGF_DECISION')).toBe(stream);
  });

  it('does not claim subjects of another namespace', () => {
    expect(new Namespace('a').strip('b.agf.v1.x')).toBeUndefined();
  });

  it('refuses a prefix that is not one safe token', () => {
    expect(() => new Namespace('a.b')).toThrow(/AGF_NAMESPACE/);
  });
});

describe('redelivery backoff', () => {
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [10, 30_000],
  ])('delivery %i waits %i ms', (delivery, delay) => {
    expect(redeliveryDelayMs(delivery, 500)).toBe(delay);
  });

  it('keeps header values on one short line', () => {
    expect(headerSafe('a\r\nb', 10)).toBe('a b');
    expect(headerSafe('x'.repeat(600))).toHaveLength(512);
  });
});

describe('Semaphore', () => {
  it('admits at most `size` holders and hands slots over in order', async () => {
    const semaphore = new Semaphore(2);
    await semaphore.acquire();
    await semaphore.acquire();
    const order: number[] = [];
    const third = semaphore.acquire().then(() => order.push(3));
    const fourth = semaphore.acquire().then(() => order.push(4));
    expect(semaphore.inUse).toBe(2);
    semaphore.release();
    await third;
    semaphore.release();
    await fourth;
    expect(order).toEqual([3, 4]);
  });
});

describe('DeferredWrites', () => {
  it('writes each kind once with all its items, in the order kinds were first used, those marked last at the end', async () => {
    const writes = new DeferredWrites();
    const done: string[] = [];
    const record = (kind: string) => async (_manager: EntityManager, items: number[]) => {
      done.push(`${kind}:${items.join(',')}`);
    };
    writes.add('audit', 1, record('audit'), true);
    writes.add('state', 2, record('state'));
    writes.add('audit', 3, record('audit'), true);
    writes.add('evaluation', 4, record('evaluation'));
    writes.add('state', 5, record('state'));
    await writes.writeAll({} as EntityManager);
    expect(done).toEqual(['state:2,5', 'evaluation:4', 'audit:1,3']);
  });
});

describe('onePerKey', () => {
  const items = [
    { id: 'a', n: 1 },
    { id: 'b', n: 2 },
    { id: 'a', n: 3 },
    { id: 'a', n: 2 },
  ];

  it('keeps the first item of each key, in first-seen order', () => {
    expect(onePerKey(items, (i) => i.id)).toEqual([{ id: 'a', n: 1 }, { id: 'b', n: 2 }]);
  });

  it('keeps the one a preference picks, at its key\'s first place', () => {
    expect(onePerKey(items, (i) => i.id, (candidate, held) => candidate.n > held.n)).toEqual([{ id: 'a', n: 3 }, { id: 'b', n: 2 }]);
    expect(onePerKey(items, (i) => i.id, () => true)).toEqual([{ id: 'a', n: 2 }, { id: 'b', n: 2 }]);
  });
});

describe('isDatabaseUnavailable', () => {
  it('knows a database that is down, restarting or out of connections, also inside a TypeORM error', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('query failed'), { driverError: Object.assign(new Error('the database system is starting up'), { code: '57P03' }) }))).toBe(true);
  });

  it('leaves every other failure to the retry budget: a constraint, a deadlock, a bug', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
