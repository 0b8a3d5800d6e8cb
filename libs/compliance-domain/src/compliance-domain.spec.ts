import fc from 'fast-check';
import type { DeploymentRequest } from '@agf/contracts';
import type { ComplianceRule } from '@agf/policy';
import {
  type AuditEntryContent,
  type ChainedAuditEntry,
  GENESIS_HASH,
  CanonicalJsonText,
  canonicalJson,
  chainEntry,
  sha256Hex,
  verifyChain,
  ChainVerifier,
  verifyChainSegment,
} from './audit-chain';
import { type CompletedReview, type ComplianceInput, evaluateCompliance } from './evaluate';

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    ['sorts top-level keys', { b: 1, a: 2 }, '{"a":2,"b":1}'],
    ['sorts nested keys', { z: { y: 1, x: [{ d: 1, c: 2 }] }, a: null }, '{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}'],
    ['omits undefined properties', { a: undefined, b: 'x' }, '{"b":"x"}'],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    ['turns dates into ISO strings', { at: new Date('2024-01-02T03:04:05.000Z') }, '{"at":"2024-01-02T03:04:05.000Z"}'],
    ['escapes strings like JSON', { 'k"': 'line\nbreak' }, '{"k\\"":"line\\nbreak"}'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives the same text whatever the key insertion order', () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
  });

  it.each([NaN, Infinity, -Infinity])('throws on non-finite number %p', (value) => {
    expect(() => canonicalJson({ value })).toThrow(/non-finite/);
  });

  it('is JSON that reads back as the value, whatever order its keys were set in', () => {
    const reversedKeys = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversedKeys)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).reverse().map(([key, member]) => [key, reversedKeys(member)]))
          : value;
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reversedKeys(value))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('is, for JSON values, JSON.stringify with each object\'s keys in sorted order (the text chains already hold)', () => {
    // Spelled out: an object cannot hold integer-like keys in sorted order for JSON.stringify to keep.
    const sortedJson = (value: unknown): string =>
      Array.isArray(value)
        ? `[${value.map(sortedJson).join(',')}]`
        : value !== null && typeof value === 'object'
          ? `{${Object.keys(value)
              .sort()
              .map((key) => `${JSON.stringify(key)}:${sortedJson((value as Record<string, unknown>)[key])}`)
              .join(',')}}`
          : JSON.stringify(value);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(sortedJson(value));
      }),
      { numRuns: 1000 },
    );
    // Objects with many keys too (free-form metadata), which are sorted another way.
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 20, maxKeys: 80 }), (value) => {
        expect(canonicalJson(value)).toBe(sortedJson(value));
      }),
      { numRuns: 200 },
    );
  });
});

function contentFor(sequence: number): AuditEntryContent {
  return {
    sequence,
    eventId: `event-${sequence}`,
    eventType: 'agf.v1.deployment.requested',
    subject: `request-${sequence}`,
    correlationId: sequence % 2 === 0 ? null : `corr-${sequence}`,
    occurredAt: `2024-05-0${sequence}T10:00:00.000Z`,
    recordedAt: `2024-05-0${sequence}T10:00:01.000Z`,
    payload: { specversion: '1.0', id: `event-${sequence}`, data: { n: sequence, tags: ['a', 'b'] } },
  };
}

function buildChain(length: number): ChainedAuditEntry[] {
  const chain: ChainedAuditEntry[] = [];
  let previousHash = GENESIS_HASH;
  for (let sequence = 1; sequence <= length; sequence++) {
    const entry = chainEntry(contentFor(sequence), previousHash);
    chain.push(entry);
    previousHash = entry.entryHash;
  }
  return chain;
}

describe('audit chain', () => {
  it('computes the hashes from the documented formula', () => {
    const entry = chainEntry(contentFor(1), GENESIS_HASH);
    expect(entry.previousHash).toBe(GENESIS_HASH);
    expect(entry.contentHash).toBe(sha256Hex(canonicalJson(contentFor(1))));
    expect(entry.entryHash).toBe(sha256Hex(GENESIS_HASH + entry.contentHash));
    expect(entry.entryHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a payload given as its stored canonical text exactly like the parsed payload', () => {
    const content = contentFor(3);
    const stored = new CanonicalJsonText(canonicalJson(content.payload));
    expect(chainEntry({ ...content, payload: stored }, GENESIS_HASH).entryHash).toBe(chainEntry(content, GENESIS_HASH).entryHash);
  });

  it('verifies an untouched chain of 5 entries', () => {
    expect(verifyChain(buildChain(5))).toEqual({ valid: true, entries: 5 });
  });

  it('verifies an empty chain', () => {
    expect(verifyChain([])).toEqual({ valid: true, entries: 0 });
  });

  it.each<[string, (chain: ChainedAuditEntry[]) => ChainedAuditEntry[], boolean]>([
    ['matches the recorded head', (chain) => chain, true],
    ['newest entries deleted', (chain) => chain.slice(0, 3), false],
  ])('checks the chain head: %s', (_name, tamper, valid) => {
    const chain = buildChain(5);
    const head = { sequence: 5, entryHash: chain[4]!.entryHash };
    const verifier = new ChainVerifier();
    for (const entry of tamper(chain)) verifier.add(entry);
    const result = verifier.result(head);
    expect(result.valid).toBe(valid);
    if (!valid) expect(result.firstBrokenEntry).toMatchObject({ sequence: 4, reason: expect.stringMatching(/chain head mismatch/) });
  });

  it.each<[string, (chain: ChainedAuditEntry[]) => ChainedAuditEntry[], boolean, RegExp | undefined]>([
    ['intact', (chain) => chain, true, undefined],
    ['an entry of the period changed', (chain) => chain.map((e) => (e.sequence === 7 ? { ...e, payload: { tampered: true } } : e)), false, /content hash mismatch/],
    ['its last entries deleted', (chain) => chain.slice(0, 8), false, /sequence gap: the segment ends at entry 8, not 10/],
  ])('verifies a period of the chain from the entry before it: %s', async (_name, tamper, valid, reason) => {
    const chain = tamper(buildChain(10));
    const loadPage = async (after: number, limit: number) => chain.filter((e) => e.sequence > after).slice(0, limit);
    const result = await verifyChainSegment(loadPage, chain[3]!, 10, 2);
    expect(result.valid).toBe(valid);
    if (valid) expect(result.entries).toBe(6);
    else expect(result.firstBrokenEntry?.reason).toMatch(reason!);
  });

  it('verifies page by page with the streaming verifier', () => {
    const chain = buildChain(5);
    const verifier = new ChainVerifier();
    for (const page of [chain.slice(0, 2), chain.slice(2)]) page.forEach((entry) => verifier.add(entry));
    expect(verifier.result()).toEqual({ valid: true, entries: 5 });
  });

  it.each<[string, (chain: ChainedAuditEntry[]) => ChainedAuditEntry[], number, number, RegExp]>([
    [
      'payload changed',
      (chain) => chain.map((e) => (e.sequence === 3 ? { ...e, payload: { tampered: true } } : e)),
      5,
      3,
      /content hash mismatch/,
    ],
    [
      'entries reordered',
      (chain) => [chain[0], chain[2], chain[1], chain[3], chain[4]],
      5,
      3,
      /sequence gap/,
    ],
    ['entry deleted', (chain) => chain.filter((e) => e.sequence !== 4), 4, 5, /sequence gap/],
    [
      'first entry deleted',
      (chain) => chain.slice(1),
      4,
      2,
      /sequence gap/,
    ],
    [
      'entry hash edited',
      (chain) => chain.map((e) => (e.sequence === 2 ? { ...e, entryHash: 'f'.repeat(64) } : e)),
      5,
      2,
      /entry hash mismatch/,
    ],
    [
      'content hash edited',
      (chain) => chain.map((e) => (e.sequence === 4 ? { ...e, contentHash: 'a'.repeat(64) } : e)),
      5,
      4,
      /content hash mismatch/,
    ],
    [
      'previous hash edited',
      (chain) => chain.map((e) => (e.sequence === 5 ? { ...e, previousHash: GENESIS_HASH } : e)),
      5,
      5,
      /previous hash mismatch/,
    ],
    [
      'entry rewritten and rehashed in place',
      (chain) =>
        chain.map((e) =>
          e.sequence === 2 ? chainEntry({ ...contentFor(2), subject: 'forged' }, e.previousHash) : e,
        ),
      5,
      3,
      /previous hash mismatch/,
    ],
  ])('detects %s', (_name, tamper, expectedEntries, brokenSequence, reason) => {
    const result = verifyChain(tamper(buildChain(5)));
    expect(result.valid).toBe(false);
    expect(result.entries).toBe(expectedEntries);
    expect(result.firstBrokenEntry?.sequence).toBe(brokenSequence);
    expect(result.firstBrokenEntry?.reason).toMatch(reason);
  });
});

const SOC2_CC81: ComplianceRule = {
  framework: 'SOC2',
  control: 'CC8.1',
  description: 'Changes are approved by someone other than the author',
  applies_when: ['scope'],
  requires: 'independent_approval',
};
const GDPR_REVIEW: ComplianceRule = {
  framework: 'GDPR',
  control: 'Art.25',
  description: 'Personal data changes need a compliance review',
  applies_when: ['personal_data', 'scope'],
  requires: 'reviewer_of_type',
  expert_type: 'compliance',
};
const ISO_CHANGE: ComplianceRule = {
  framework: 'ISO27001',
  control: 'A.8.32',
  description: 'Change management record',
  applies_when: ['always'],
  requires: 'change_record',
};

function requestWith(overrides: Partial<DeploymentRequest> = {}): DeploymentRequest {
  return {
    requestId: '00000000-0000-4000-8000-000000000001',
    projectId: 'shop',
    componentName: 'checkout',
    version: '1.2.3',
    changes: ['feat: new payment form'],
    riskIndicators: { complianceScopes: ['soc2'] },
    requester: 'alice',
    timestamp: '2024-05-01T10:00:00.000Z',
    metadata: {},
    receivedAt: '2024-05-01T10:00:00.000Z',
    receivedVia: 'http',
    ...overrides,
  } as DeploymentRequest;
}

/** A person's review, answered by the subject of the same name. */
function review(expertId: string, expertType: string, decision: CompletedReview['decision'], id = expertId): CompletedReview {
  return { assignmentId: `assignment-${id}`, expertId, expertType, expertKind: 'human', actorSubject: expertId, decision };
}

/** A built-in validator's review: nobody answered it. */
function validatorReview(expertId: string, decision: CompletedReview['decision']): CompletedReview {
  return { assignmentId: `assignment-${expertId}`, expertId, expertType: 'security', expertKind: 'automated', actorSubject: null, decision };
}

function inputWith(overrides: Partial<ComplianceInput> = {}): ComplianceInput {
  return { request: requestWith(), riskAssessed: true, reviews: [], ...overrides };
}

describe('evaluateCompliance', () => {
  it.each<[string, ComplianceRule, ComplianceInput, string, RegExp]>([
    ['SOC2: no reviews yet', SOC2_CC81, inputWith(), 'pending', /other than the requester alice/],
    [
      'SOC2: requester self-approval does not count',
      SOC2_CC81,
      inputWith({ reviews: [review('alice', 'security', 'approve')] }),
      'pending',
      /other than the requester alice/,
    ],
    [
      'SOC2: independent approval passes',
      SOC2_CC81,
      inputWith({ reviews: [review('alice', 'security', 'approve'), review('bob', 'architecture', 'approve')] }),
      'pass',
      /bob/,
    ],
    [
      'SOC2: conditional independent approval passes',
      SOC2_CC81,
      inputWith({ reviews: [review('bob', 'architecture', 'conditional')] }),
      'pass',
      /bob/,
    ],
    [
      'SOC2: independent rejection fails',
      SOC2_CC81,
      inputWith({ reviews: [review('bob', 'architecture', 'approve'), review('carol', 'security', 'reject')] }),
      'fail',
      /rejected by carol/,
    ],
    [
      'SOC2: requester rejecting own change is ignored',
      SOC2_CC81,
      inputWith({ reviews: [review('alice', 'security', 'reject'), review('bob', 'security', 'approve')] }),
      'pass',
      /bob/,
    ],
    [
      'SOC2: scope matched case-insensitively',
      SOC2_CC81,
      inputWith({ request: requestWith({ riskIndicators: { complianceScopes: ['SoC2'] } }) }),
      'pending',
      /requester/,
    ],
    [
      'SOC2: not in scope',
      SOC2_CC81,
      inputWith({ request: requestWith({ riskIndicators: { complianceScopes: ['hipaa'] } }) }),
      'not_applicable',
      /SOC2 scope/,
    ],
    [
      'GDPR: personal data without a compliance reviewer',
      GDPR_REVIEW,
      inputWith({
        request: requestWith({ riskIndicators: { touchesPersonalData: true } }),
        reviews: [review('bob', 'security', 'approve')],
      }),
      'pending',
      /waiting for a compliance reviewer/,
    ],
    [
      'GDPR: personal data approved by a compliance reviewer',
      GDPR_REVIEW,
      inputWith({
        request: requestWith({ riskIndicators: { touchesPersonalData: true } }),
        reviews: [review('dora', 'compliance', 'approve')],
      }),
      'pass',
      /dora/,
    ],
    [
      'GDPR: compliance reviewer rejected',
      GDPR_REVIEW,
      inputWith({
        request: requestWith({ riskIndicators: { touchesPersonalData: true } }),
        reviews: [review('dora', 'compliance', 'reject')],
      }),
      'fail',
      /rejected/,
    ],
    [
      'GDPR: applies via scope alone',
      GDPR_REVIEW,
      inputWith({ request: requestWith({ riskIndicators: { complianceScopes: ['gdpr'] } }) }),
      'pending',
      /compliance reviewer/,
    ],
    [
      'GDPR: no personal data and not in scope',
      GDPR_REVIEW,
      inputWith({ request: requestWith({ riskIndicators: { touchesPersonalData: false } }) }),
      'not_applicable',
      /personal data/,
    ],
    ['ISO: pending before risk assessment', ISO_CHANGE, inputWith({ riskAssessed: false }), 'pending', /risk assessment/],
    ['ISO: complete record passes', ISO_CHANGE, inputWith(), 'pass', /1\.2\.3.*1 change.*generated by AGF/],
    [
      'ISO: rollback plan from metadata',
      ISO_CHANGE,
      inputWith({ request: requestWith({ metadata: { rollback: 'helm rollback checkout' } }) }),
      'pass',
      /rollback plan from the request/,
    ],
    [
      'ISO: no changes listed fails',
      ISO_CHANGE,
      inputWith({ request: requestWith({ changes: [] }) }),
      'fail',
      /no changes listed/,
    ],
    ['ISO: empty version fails', ISO_CHANGE, inputWith({ request: requestWith({ version: '' }) }), 'fail', /version/],
  ])('%s', (_name, rule, input, status, reason) => {
    const [control] = evaluateCompliance([rule], input).controls;
    expect(control).toMatchObject({ framework: rule.framework, control: rule.control, status });
    expect(control.reason).toMatch(reason);
  });

  describe('SOC2 CC8.1 on a governed change needs a verified person other than the requester', () => {
    const cc81 = (input: ComplianceInput) => evaluateCompliance([SOC2_CC81], input).controls[0]!;
    it.each<[string, ComplianceInput, string, RegExp]>([
      ['tier 1, validators only', inputWith({ tierLevel: 1, reviews: [validatorReview('security_agent', 'approve')] }), 'pending', /verified person other than the requester alice.*automated/],
      ['tier 2, validators only', inputWith({ tierLevel: 2, reviews: [validatorReview('security_agent', 'approve')] }), 'pending', /verified person/],
      ['tier not known yet, validators only', inputWith({ reviews: [validatorReview('security_agent', 'approve')] }), 'pending', /verified person/],
      [
        'tier 1, an external automated expert with a verified workload identity',
        inputWith({ tierLevel: 1, reviews: [{ ...validatorReview('scanner', 'approve'), actorSubject: 'svc-scanner' }] }),
        'pending',
        /verified person/,
      ],
      [
        'tier 1, a human expert answered without a verified identity',
        inputWith({ tierLevel: 1, reviews: [{ ...review('bob', 'security', 'approve'), actorSubject: null }] }),
        'pending',
        /verified person/,
      ],
      [
        'tier 1, a human expert of unknown kind (recorded before identities)',
        inputWith({ tierLevel: 1, reviews: [{ ...review('bob', 'security', 'approve'), expertKind: null }] }),
        'pending',
        /verified person/,
      ],
      [
        'tier 1, the requester answering for another expert',
        inputWith({ tierLevel: 1, reviews: [{ ...review('security_expert_human', 'security', 'approve'), actorSubject: 'alice' }] }),
        'pending',
        /other than the requester alice/,
      ],
      [
        'tier 1, a verified person approves',
        inputWith({ tierLevel: 1, reviews: [validatorReview('security_agent', 'approve'), { ...review('security_expert_human', 'security', 'approve'), actorSubject: 'bob@example.com' }] }),
        'pass',
        /approved by bob@example.com for security_expert_human/,
      ],
      ['tier 1, a validator rejects', inputWith({ tierLevel: 1, reviews: [validatorReview('security_agent', 'reject'), review('bob', 'security', 'approve')] }), 'fail', /rejected by security_agent/],
      ['tier 0, validators only (as the policy leaves it to them)', inputWith({ tierLevel: 0, reviews: [validatorReview('security_agent', 'approve')] }), 'pass', /security_agent.*tier 0/],
    ])('%s', (_name, input, status, reason) => {
      expect(cc81(input)).toMatchObject({ status, reason: expect.stringMatching(reason) });
    });

    it('fails once every assigned review is in and none was by a verified person', () => {
      expect(cc81(inputWith({ tierLevel: 1, openAssignments: 0, reviews: [validatorReview('security_agent', 'approve')] }))).toMatchObject({
        status: 'fail',
        reason: expect.stringMatching(/^unmet after every assigned review was in: .*verified person/),
      });
    });
  });

  it.each<[string, ComplianceInput, { passed: boolean; pending: boolean }]>([
    ['all pass', inputWith({ reviews: [review('bob', 'compliance', 'approve')] }), { passed: true, pending: false }],
    ['one pending', inputWith({ riskAssessed: false, reviews: [review('bob', 'compliance', 'approve')] }), { passed: false, pending: true }],
    [
      'a failure wins over pending',
      inputWith({ riskAssessed: false, reviews: [review('bob', 'compliance', 'reject')] }),
      { passed: false, pending: false },
    ],
  ])('overall outcome: %s', (_name, input, expected) => {
    const evaluation = evaluateCompliance([SOC2_CC81, GDPR_REVIEW, ISO_CHANGE], input);
    expect({ passed: evaluation.passed, pending: evaluation.pending }).toEqual(expected);
  });

  it.each<[string, number | undefined, string]>([
    ['reviews still open', 1, 'pending'],
    ['open count unknown', undefined, 'pending'],
    ['every assigned review in', 0, 'fail'],
  ])('a control waiting on a reviewer: %s → %s', (_name, openAssignments, status) => {
    const input = inputWith({ reviews: [review('bob', 'security', 'approve')], ...(openAssignments === undefined ? {} : { openAssignments }) });
    const evaluation = evaluateCompliance([GDPR_REVIEW], { ...input, request: requestWith({ riskIndicators: { touchesPersonalData: true } }) });
    expect(evaluation.controls[0]!.status).toBe(status);
    expect(evaluation.pending).toBe(status === 'pending');
  });

  it('lists the assignments it was based on, sorted', () => {
    const evaluation = evaluateCompliance(
      [SOC2_CC81],
      inputWith({ reviews: [review('zed', 'security', 'approve'), review('amy', 'security', 'approve')] }),
    );
    expect(evaluation.basedOnAssignments).toEqual(['assignment-amy', 'assignment-zed']);
  });

  it('passes trivially when no rule applies', () => {
    const evaluation = evaluateCompliance(
      [SOC2_CC81],
      inputWith({ request: requestWith({ riskIndicators: {} }) }),
    );
    expect(evaluation).toMatchObject({ passed: true, pending: false });
    expect(evaluation.controls[0].status).toBe('not_applicable');
  });
});

describe('SOC2 CC8.1 on a break-glass approval', () => {
  const emergency = { approvedBy: 'erin', afterTheFactAssignmentId: 'assignment-after' };
  const cc81 = (input: ComplianceInput) => evaluateCompliance([SOC2_CC81], input).controls[0]!;

  it('reports an emergency change, pending its after-the-fact review, whatever approved it before', () => {
    const control = cc81(inputWith({ emergency, tierLevel: 1, reviews: [review('bob', 'security', 'approve')], openAssignments: 0 }));
    expect(control).toMatchObject({ status: 'pending', reason: expect.stringMatching(/emergency change, after-the-fact review pending/) });
  });

  it('passes on the after-the-fact approval by a verified person, and fails on its rejection', () => {
    expect(cc81(inputWith({ emergency, tierLevel: 1, reviews: [review('olivia', 'human_oversight', 'approve', 'after')] }))).toMatchObject({ status: 'pass', reason: expect.stringMatching(/approved after the fact by olivia/) });
    expect(cc81(inputWith({ emergency, tierLevel: 1, reviews: [review('olivia', 'human_oversight', 'reject', 'after')] }))).toMatchObject({ status: 'fail' });
    expect(cc81(inputWith({ emergency: { ...emergency, afterTheFactAssignmentId: null }, tierLevel: 1 }))).toMatchObject({ status: 'fail' });
  });
});
