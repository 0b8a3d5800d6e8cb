import { sumOf } from './prometheus-text';

describe('sumOf', () => {
  const text = [
    '# HELP agf_messages_total Messages handled',
    '# TYPE agf_messages_total counter',
    'agf_messages_total{consumer="coe-risk",message="risk.assessed",result="processed"} 12',
    'agf_messages_total{consumer="coe-risk",message="risk.assessed",result="dead_lettered"} 2',
    'agf_messages_total{consumer="coe-review",message="review.submit",result="dead_lettered"} 3',
    'agf_messages_total_created{consumer="x"} 99',
    'agf_decisions_total{outcome="PROCEED_STANDARD"} 4',
    'agf_decisions_total{outcome="BLOCK_WITH_FEEDBACK"} 1.5',
    'agf_outbox_unsent_events 7',
  ].join('\n');

  it('adds the samples whose labels match, and no metric whose name only starts the same', () => {
    expect(sumOf(text, 'agf_messages_total', { result: 'dead_lettered' })).toBe(5);
    expect(sumOf(text, 'agf_messages_total')).toBe(17);
    expect(sumOf(text, 'agf_decisions_total')).toBe(5.5);
    expect(sumOf(text, 'agf_outbox_unsent_events')).toBe(7);
  });

  it('is 0 for a metric that is absent', () => {
    expect(sumOf(text, 'agf_nothing_total')).toBe(0);
    expect(sumOf('', 'agf_decisions_total')).toBe(0);
  });
});
