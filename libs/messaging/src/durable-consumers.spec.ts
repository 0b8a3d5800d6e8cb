import { CATALOG, type MessageName } from '@agf/contracts';
import { durableConsumersOf, isDurableOfService } from './durable-consumers';

describe('durableConsumersOf', () => {
  it('gives a service reading every type of a stream one unfiltered consumer named after it', () => {
    const review = (Object.keys(CATALOG) as MessageName[]).filter((name) => CATALOG[name].stream === 'AGF_REVIEW');
    expect(durableConsumersOf('compliance', review)).toEqual([{ stream: 'AGF_REVIEW', durable: 'compliance', messages: review }]);
  });

  it('filters a consumer to the one type a service reads of a stream', () => {
    expect(durableConsumersOf('sla', ['decision.made'])).toEqual([{ stream: 'AGF_DECISION', durable: 'sla', messages: ['decision.made'], filterSubject: 'agf.v1.decision.made.>' }]);
  });

  it('gives a consumer per type where a service reads some types of a stream, so none is delivered what it ignores', () => {
    const plans = durableConsumersOf('sla', ['review.assigned', 'review.completed', 'decision.made']);
    expect(plans).toEqual([
      { stream: 'AGF_REVIEW', durable: 'sla-review-assigned', messages: ['review.assigned'], filterSubject: 'agf.v1.review.assigned.>' },
      { stream: 'AGF_REVIEW', durable: 'sla-review-completed', messages: ['review.completed'], filterSubject: 'agf.v1.review.completed.>' },
      { stream: 'AGF_DECISION', durable: 'sla', messages: ['decision.made'], filterSubject: 'agf.v1.decision.made.>' },
    ]);
  });

  it("knows every name it gives a service's consumers, and no other service's", () => {
    expect(isDurableOfService('sla', 'AGF_REVIEW', 'sla')).toBe(true);
    expect(isDurableOfService('sla', 'AGF_REVIEW', 'sla-review-assigned')).toBe(true);
    expect(isDurableOfService('sla', 'AGF_REVIEW', 'sla-decision-made')).toBe(false);
    expect(isDurableOfService('sla', 'AGF_REVIEW', 'slack')).toBe(false);
    expect(isDurableOfService('sla', 'AGF_REVIEW', 'expert-sla')).toBe(false);
  });
});
