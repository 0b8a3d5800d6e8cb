import { callbackBackoffMs, callbackRetryable, githubCallbackBody, gitlabApprovalBody, type FinalDecision, requestLink, verdictFor } from './verdicts';

const decision = (overrides: Partial<FinalDecision> = {}): FinalDecision => ({
  requestId: '6f1c1c7e-8f7e-4f38-9d5e-2a1f6b0c9a11',
  outcome: 'PROCEED_STANDARD',
  approved: true,
  decisionRationale: 'Low risk.',
  conditions: [],
  ...overrides,
});
const link = requestLink('https://agf.example.com/', '6f1c1c7e-8f7e-4f38-9d5e-2a1f6b0c9a11');

describe('verdictFor', () => {
  it('approves an approved decision with the rationale and the link', () => {
    const verdict = verdictFor(decision({ conditions: ['watch errors'] }), link);
    expect(verdict).toEqual({ kind: 'answer', approved: true, comment: expect.stringContaining('Low risk.') });
    if (verdict.kind !== 'answer') throw new Error('expected an answer');
    expect(verdict.comment).toContain('Conditions: watch errors.');
    expect(verdict.comment.endsWith('Details: https://agf.example.com/v1/deployment-requests/6f1c1c7e-8f7e-4f38-9d5e-2a1f6b0c9a11')).toBe(true);
    expect(githubCallbackBody('production', verdict)).toEqual({ environment_name: 'production', state: 'approved', comment: verdict.comment });
  });

  it('rejects a block', () => {
    const verdict = verdictFor(decision({ outcome: 'BLOCK_WITH_FEEDBACK', approved: false, decisionRationale: 'Tests failed.' }), link);
    if (verdict.kind !== 'answer') throw new Error('expected an answer');
    expect(gitlabApprovalBody(verdict)).toEqual({ status: 'rejected', comment: expect.stringMatching(/^AGF blocked this deployment \(BLOCK_WITH_FEEDBACK\)\. Tests failed\./) });
  });

  it('keeps an escalated deployment waiting', () => {
    expect(verdictFor(decision({ outcome: 'ESCALATE_TO_HUMAN', approved: false }), link)).toEqual({ kind: 'waiting' });
  });

  it('approves in shadow mode and says what AGF would have done', () => {
    const verdict = verdictFor(decision({ outcome: 'BLOCK_WITH_FEEDBACK', approved: false, shadow: true }), link);
    expect(verdict).toEqual({ kind: 'answer', approved: true, comment: expect.stringContaining('would have blocked this deployment (BLOCK_WITH_FEEDBACK)') });
  });

  it('shortens a long rationale but keeps the link', () => {
    const verdict = verdictFor(decision({ decisionRationale: 'x'.repeat(5000) }), link);
    if (verdict.kind !== 'answer') throw new Error('expected an answer');
    expect(verdict.comment.length).toBeLessThanOrEqual(1000);
    expect(verdict.comment).toContain(link);
  });
});

describe('callback retries', () => {
  it('doubles the delay up to a cap', () => {
    expect([1, 2, 3].map((attempt) => callbackBackoffMs(attempt, 100))).toEqual([100, 200, 400]);
    expect(callbackBackoffMs(40, 100, 5000)).toBe(5000);
  });

  it('gives up only on answers that cannot get better', () => {
    expect([undefined, 500, 502, 429, 401, 403].map(callbackRetryable)).toEqual([true, true, true, true, true, true]);
    expect([400, 404, 410, 422].map(callbackRetryable)).toEqual([false, false, false, false]);
  });
});
