import { ProblemError } from '@agf/platform';
import { parsePeriod } from './insights.http.controller';

describe('parsePeriod', () => {
  const now = new Date('2026-12-05T12:00:00Z');

  it('is the last 30 days by default, of every project', () => {
    expect(parsePeriod(undefined, undefined, undefined, now)).toEqual({ from: new Date('2026-11-05T12:00:00Z'), to: now });
  });

  it('takes dates, date-times and one project', () => {
    expect(parsePeriod('2026-12-01', '2026-12-02T00:00:00+01:00', 'orders-api', now)).toEqual({ from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-01T23:00:00Z'), projectId: 'orders-api' });
  });

  it.each([
    ['not-a-date', undefined, undefined, 'from'],
    ['2026-12-02', '2026-12-01', undefined, 'from'],
    ['2024-01-01', '2026-01-01', undefined, 'from'],
    [undefined, undefined, ['a', 'b'], 'projectId'],
    [undefined, ['2026-12-01', '2026-12-02'], undefined, 'to'],
  ])('answers a bad period or project with a 400 naming it (%s, %s, %s)', (from, to, project, field) => {
    try {
      parsePeriod(from, to, project, now);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ProblemError);
      expect(error).toMatchObject({ status: 400, errors: [expect.objectContaining({ path: field })] });
    }
  });
});
