import { percentile, summarise } from './stats';

describe('benchmark statistics', () => {
  it.each([
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[7], 99, 7],
    [[1, 2], 0, 1],
  ])('nearest-rank percentile of %j at p%d is %d', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });

  it('summarises unsorted samples and reports an empty run as NaN, not 0', () => {
    expect(summarise([30, 10, 20])).toEqual({ count: 3, p50: 20, p90: 30, p99: 30, max: 30 });
    const empty = summarise([]);
    expect(empty.count).toBe(0);
    expect(empty.p99).toBeNaN();
  });
});
