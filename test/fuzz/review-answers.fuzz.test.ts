import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { type CloudEvent, createEvent, subjectFor } from '@agf/contracts';
import { createTestDatabase, eventually, ServiceProcess, testIdentity, TestNats, type TestDatabase } from '@agf/testing';
import { edgeTime, nasty } from './generators';

jest.setTimeout(300_000);

/** Answers sent; `npm run test:fuzz` raises it (AGF_FUZZ_RUNS / 2). */
const ANSWERS = Math.max(100, Math.floor(Number(process.env['AGF_FUZZ_RUNS'] ?? 500) / 2));
const PROJECT = 'fuzz-answers';
/** An external automated expert of the fixture, bound (`principal:`) to the subject of the same name. */
const EXPERT = 'security_agent_1';
const CONFIG = join(__dirname, '..', 'fixtures', 'agf-config.external-expert.yaml');

/** A well-formed answer, with a fresh event id each time (a repeated id is a redelivery, answered once). */
function anAnswer(): CloudEvent<'review.submit'> {
  const requestId = randomUUID();
  return createEvent({
    name: 'review.submit',
    source: 'fuzz-expert',
    correlationId: requestId,
    data: { requestId, projectId: PROJECT, assignmentId: randomUUID(), expertId: EXPERT, decision: 'approve', comments: 'fine', conditions: [], submittedAt: new Date().toISOString() },
  });
}

const DATA_FIELDS = ['requestId', 'projectId', 'assignmentId', 'expertId', 'decision', 'comments', 'conditions', 'confidence', 'submittedAt'] as const;
const ENVELOPE_FIELDS = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'correlationid', 'causationid', 'data'] as const;

/** An answer with some fields of its data or envelope replaced, dropped or added: close to valid is where bugs hide. */
const mutatedAnswer = fc
  .record({
    data: fc.dictionary(fc.constantFrom(...DATA_FIELDS), fc.oneof(nasty, edgeTime), { maxKeys: 3 }),
    dropData: fc.subarray([...DATA_FIELDS], { maxLength: 2 }),
    envelope: fc.dictionary(fc.constantFrom(...ENVELOPE_FIELDS), nasty, { maxKeys: 2 }),
    dropEnvelope: fc.subarray([...ENVELOPE_FIELDS], { maxLength: 1 }),
    extra: fc.option(fc.tuple(fc.string({ maxLength: 12 }), nasty)),
  })
  .map(({ data, dropData, envelope, dropEnvelope, extra }) => () => {
    const answer = anAnswer();
    const answerData: Record<string, unknown> = { ...answer.data, ...data };
    for (const key of dropData) delete answerData[key];
    if (extra) answerData[extra[0]] = extra[1];
    const body: Record<string, unknown> = { ...answer, data: answerData, ...envelope };
    for (const key of dropEnvelope) delete body[key];
    return JSON.stringify(body);
  });
/** A valid answer with a NUL character or an unpaired surrogate in a string or a key: JSON that Postgres cannot store. */
const withUnstorable = fc
  .record({ inKey: fc.boolean(), bad: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ude80\ud83d') })
  .map(({ inKey, bad }) => () => {
    const answer = anAnswer();
    return JSON.stringify({ ...answer, data: inKey ? { ...answer.data, [`k${bad}`]: 1 } : { ...answer.data, comments: `x${bad}y` } });
  });
const valid = fc.constant(() => JSON.stringify(anAnswer()));
const truncated = fc.integer({ min: 0, max: 400 }).map((n) => () => JSON.stringify(anAnswer()).slice(0, n));
const other = fc.oneof(fc.json({ maxDepth: 4 }), fc.string()).map((text) => () => text);
const answerText = fc.oneof(mutatedAnswer, mutatedAnswer, withUnstorable, valid, truncated, other);

/**
 * External experts answer over NATS, outside any HTTP validation: the CoE must answer every answer with one
 * `review.rejected` (none of these requests exists, so a valid answer is `unknown-request`), or dead-letter
 * one that names nobody to answer; compliance audits the rejections and dead-letters nothing. Every answer is
 * sent with the credential of the expert a valid answer names, so it is judged on its content (one generated
 * to name another expert is `forbidden`).
 */
describe('fuzzing the CoE with generated expert answers over NATS', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let coe: ServiceProcess;
  let compliance: ServiceProcess;
  let expertCredential: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await TestNats.connect();
    expertCredential = await (await testIdentity()).bearer({ sub: EXPERT, roles: ['reviewer'] }, { expiresIn: 3600 });
    const options = { databaseUrl: db.url, namespace: nats.namespace.prefix, env: { AGF_CONFIG: CONFIG } };
    [coe, compliance] = await Promise.all([ServiceProcess.start('coe', options), ServiceProcess.start('compliance', options)]);
  });

  afterAll(async () => {
    await coe?.stop();
    await compliance?.stop();
    await nats?.cleanup();
    await db?.drop();
  });

  it('answers every generated answer with exactly one review.rejected or one dead letter of the CoE, and compliance keeps its chain', async () => {
    const texts = fc.sample(answerText, ANSWERS).map((make) => make());
    await Promise.all(texts.map((text, i) => nats.publish(subjectFor('review.submit', PROJECT), text, `fuzz-answer-${i}`, { Authorization: expertCredential })));
    const outcome = await eventually(
      async () => {
        const rejections = (await nats.read('AGF_REVIEW', 'agf.v1.review.rejected.>')).map((m) => m.json<CloudEvent<'review.rejected'>>().data.code);
        const dead = await nats.read('AGF_DLQ');
        const counts = {
          sent: texts.length,
          invalidAnswer: rejections.filter((code) => code === 'invalid-answer').length,
          unauthenticated: rejections.filter((code) => code === 'unauthenticated').length,
          forbidden: rejections.filter((code) => code === 'forbidden').length,
          unknownRequest: rejections.filter((code) => code === 'unknown-request').length,
          deadLetteredByCoe: dead.filter((m) => m.headers['Agf-Dlq-Consumer'] === 'coe').length,
          deadLetteredByCompliance: dead.filter((m) => m.headers['Agf-Dlq-Consumer'] === 'compliance').length,
        };
        expect(rejections.length + counts.deadLetteredByCoe).toBe(texts.length);
        return counts;
      },
      120_000,
      500,
    );
    console.log(`fuzz answers: ${JSON.stringify(outcome)}`);
    expect(outcome.deadLetteredByCompliance).toBe(0);
    expect(outcome.unauthenticated).toBe(0);
    expect(outcome.invalidAnswer).toBeGreaterThan(0);
    expect(outcome.unknownRequest).toBeGreaterThan(0);
    expect(outcome.deadLetteredByCoe).toBeGreaterThan(0);
    for (const service of [coe, compliance]) expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
    // Every rejection is audited once its chainer has caught up, and the chain verifies.
    await eventually(async () => {
      const auditor = await (await testIdentity()).headers({ sub: 'fuzz-auditor', roles: ['auditor'] });
      const verified = (await (await fetch(`${compliance.url}/v1/audit/verify`, { headers: auditor })).json()) as { valid: boolean; entries: number };
      expect(verified.valid).toBe(true);
      expect(verified.entries).toBeGreaterThanOrEqual(outcome.invalidAnswer + outcome.unknownRequest);
    }, 60_000, 500);
    expect((await nats.read('AGF_DLQ')).filter((m) => m.headers['Agf-Dlq-Consumer'] === 'compliance')).toEqual([]);
  });
});
