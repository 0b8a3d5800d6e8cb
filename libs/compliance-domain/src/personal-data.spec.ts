import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { join } from 'node:path';
import { canonicalJson } from './audit-chain';
import { DATA_CLASSIFICATION } from './data-classification';
import { commitmentOf, erasurePattern, EXPIRED, expirePersonalFields, peopleIn, revealPersonalFields, sealedIdsIn, sealPersonalFields, subjectDigest } from './personal-data';

const digest = (s: string) => subjectDigest('k', s);

describe('personal fields under the hash chain', () => {
  const event = {
    id: 'e1',
    subject: 'request-1',
    type: 'io.agf.review.completed.v1',
    data: { requestId: 'r1', comments: 'rita asked twice', decision: 'approve', actor: { subject: 'sam', channel: 'http' }, request: { requester: 'rita', version: '1.0' } },
  };

  it('replaces identities and free text by salted commitments, keeping everything else and the envelope subject', () => {
    const people = peopleIn(event.data);
    expect([...people].sort()).toEqual(['rita', 'sam']);
    const { sealed, values } = sealPersonalFields(event, digest, new Set([...people].map(digest)));
    const text = canonicalJson(sealed);
    expect(text).not.toMatch(/rita|sam/);
    expect(text).toContain('"subject":"request-1"');
    expect(text).toContain('"decision":"approve"');
    expect(values.map((v) => v.value).sort()).toEqual(['rita', 'rita asked twice', 'sam']);
    expect(values.find((v) => v.value === 'sam')!.owners).toEqual([digest('sam')]);
    expect(values.find((v) => v.value === 'rita asked twice')!.owners).toEqual([digest('rita'), digest('sam')].sort());
    for (const v of values) expect(text).toContain(commitmentOf(v.value, v.salt));
    // Two seals of the same value differ (salted): a commitment gives nothing to guess with.
    expect(sealPersonalFields(event, digest, new Set()).values[0]!.salt).not.toBe(values[0]!.salt);

    const kept = new Map(values.map((v) => [v.id, { value: v.value, salt: v.salt }]));
    expect(revealPersonalFields(sealed, kept)).toEqual(event);
    const withoutSam = new Map([...kept].filter(([, v]) => v.value !== 'sam'));
    expect((revealPersonalFields(sealed, withoutSam) as typeof event).data.actor.subject).toBe('[erased]');
    const tampered = new Map([...kept].map(([id, v]) => [id, v.value === 'sam' ? { ...v, value: 'mallory' } : v]));
    expect((revealPersonalFields(sealed, tampered) as typeof event).data.actor.subject).toBe('[altered]');
    expect(sealedIdsIn(sealed).sort()).toEqual(values.map((v) => v.id).sort());
  });

  it('gives every value of an event a salt of its own, past the sixteen drawn at once', () => {
    const many = { id: 'e2', subject: 'request-2', data: { conditions: [], reviews: Array.from({ length: 40 }, (_, i) => ({ comments: `note ${i}`, actor: { subject: `person-${i}` } })) } };
    const { values } = sealPersonalFields(many, digest, new Set());
    expect(values).toHaveLength(80);
    expect(values.every((v) => /^[0-9a-f]{32}$/.test(v.salt))).toBe(true);
    expect(new Set(values.map((v) => v.salt)).size).toBe(80);
  });

  it('seals any event without changing it, and what it seals reads back as the event', () => {
    // Keys that seal (identities, people, free text) mixed with keys that do not, at any depth.
    const key = fc.constantFrom('data', 'subject', 'actor', 'requester', 'comments', 'conditions', 'request', 'reviews', 'version', 'score', 'ä"k');
    const { json } = fc.letrec((tie) => ({
      json: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('json'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('json'), { maxKeys: 5 }),
    }));
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 6 }), (event) => {
        const before = structuredClone(event);
        const { sealed, values } = sealPersonalFields(event, digest, new Set([digest('rita')]));
        expect(event).toEqual(before);
        expect(revealPersonalFields(sealed, new Map(values.map((v) => [v.id, { value: v.value, salt: v.salt }])))).toEqual(event);
        expect(sealedIdsIn(sealed).sort()).toEqual(values.map((v) => v.id).sort());
      }),
      { numRuns: 500 },
    );
  });

  it('matches a subject as a whole word only, in text and in JSON', () => {
    const { pattern, replacement } = erasurePattern('ann.lee');
    const re = new RegExp(pattern, 'g');
    const replace = (s: string) => s.replace(re, replacement('erased-x').replace(/\\(\d)/g, '$$$1'));
    expect(replace('by ann.lee, for ann.lee')).toBe('by erased-x, for erased-x');
    expect(replace('{"requester":"ann.lee"}')).toBe('{"requester":"erased-x"}');
    expect(replace('joann.lee and ann.leer')).toBe('joann.lee and ann.leer');
    expect(erasurePattern('a"b').pattern).toContain('a\\\\"b');
  });
});

describe('people in access events', () => {
  it('seals the person an API key is for, and who issued it', () => {
    const event = { id: 'e1', subject: 'key-1', data: { keyId: 'key-1', subject: 'rita', name: 'ci', issuedBy: { subject: 'ada', channel: 'http' } } };
    const { sealed, values } = sealPersonalFields(event, (s) => `digest-${s}`, new Set());
    // As JSON strings: 'ada' is made of hex digits, so a commitment or an id may hold it (a CI run failed so).
    expect(JSON.stringify(sealed)).not.toMatch(/"(rita|ada)"/);
    expect(values.map((v) => v.value).sort()).toEqual(['ada', 'rita']);
    expect((sealed as { subject: string }).subject).toBe('key-1');
  });
});

describe('data classification', () => {
  it('is documented as it is in code (docs/compliance.md)', () => {
    const docs = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'compliance.md'), 'utf8');
    const tables = new Set(DATA_CLASSIFICATION.map((f) => `${f.schema}.${f.table}`));
    for (const table of tables) {
      const row = docs.split('\n').find((line) => line.startsWith(`| \`${table}\` |`));
      expect(row).toBeDefined();
      const [, , personal, confidential, operational] = row!.split('|').map((cell) => cell.trim());
      for (const [dataClass, cell] of [['personal', personal], ['confidential', confidential], ['operational', operational]] as const) {
        const documented = cell === '–' ? [] : cell!.split(', ');
        expect([table, dataClass, documented]).toEqual([table, dataClass, DATA_CLASSIFICATION.filter((f) => `${f.schema}.${f.table}` === table && f.dataClass === dataClass).map((f) => f.column)]);
      }
    }
  });
});

describe('retention', () => {
  it('expires the people and free text of a value, keeping its shape and everything else', () => {
    const request = { requester: 'rita', actor: { subject: 'rita', channel: 'http' }, version: '1.0', changes: ['src/a.ts'], reviews: [{ comments: 'ok by sam', decision: 'approve', conditions: ['c1'] }] };
    expect(expirePersonalFields(request)).toEqual({
      requester: EXPIRED, actor: { subject: EXPIRED, channel: 'http' }, version: '1.0', changes: ['src/a.ts'], reviews: [{ comments: EXPIRED, decision: 'approve', conditions: [EXPIRED] }],
    });
    expect(expirePersonalFields('rita')).toBe(EXPIRED);
  });
});
