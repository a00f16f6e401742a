import { firstAttemptTime, giveUpTime, nextAttempt, randomSeconds, type RetryPolicy } from '../../../../shared/retry/policy';

const at = (iso: string) => new Date(iso);
const defaultRetry: RetryPolicy = { shortRangeSeconds: 3600, shortDelaySeconds: [180, 540], longDelaySeconds: [3600, 5400], maxAgeSeconds: 360_000 };
const lowest = () => 0;
const highest = () => 0.999999;

describe('Function: nextAttempt', () => {
  const notice = { dueFrom: at('2030-01-01T00:00:00Z'), giveUpAt: at('2030-01-05T04:00:00Z') };

  it.each([
    ['waits 3 minutes at least while the notice is younger than the short range', '2030-01-01T00:10:00Z', lowest, '2030-01-01T00:13:00Z'],
    ['waits 9 minutes at most while the notice is younger than the short range', '2030-01-01T00:10:00Z', highest, '2030-01-01T00:19:00Z'],
    ['still uses the short range just before it ends', '2030-01-01T00:59:59Z', highest, '2030-01-01T01:08:59Z'],
    ['waits 60 minutes at least once the short range is over', '2030-01-01T01:00:00Z', lowest, '2030-01-01T02:00:00Z'],
    ['waits 90 minutes at most once the short range is over', '2030-01-01T05:00:00Z', highest, '2030-01-01T06:30:00Z'],
  ])('%s', (_, now, random, expected) => {
    // Act
    const next = nextAttempt(notice, at(now), defaultRetry, random);
    // Assess
    expect(next).toEqual({ kind: 'retry', at: at(expected) });
  });

  it('gives up at giveUpAt, never later, when the next try would fall past it', () => {
    // Act
    const next = nextAttempt(notice, at('2030-01-05T03:00:00Z'), defaultRetry, lowest);
    // Assess
    expect(next).toEqual({ kind: 'give-up', at: notice.giveUpAt });
  });

  it('gives up when the next try would fall exactly at giveUpAt', () => {
    expect(nextAttempt(notice, at('2030-01-05T03:00:00Z'), defaultRetry, () => 0)).toEqual({ kind: 'give-up', at: notice.giveUpAt });
    expect(nextAttempt(notice, at('2030-01-05T02:59:59Z'), defaultRetry, () => 0)).toEqual({ kind: 'retry', at: at('2030-01-05T03:59:59Z') });
  });

  it('spreads the delays over the whole range', () => {
    // Prepare
    const draws = [0, 0.25, 0.5, 0.75, 0.999];
    // Act
    const delays = draws.map((draw) => (nextAttempt(notice, at('2030-01-01T00:00:00Z'), defaultRetry, () => draw) as { at: Date }).at.getTime() / 1000 - notice.dueFrom.getTime() / 1000);
    // Assess
    expect(delays).toEqual([180, 270, 360, 450, 540]);
  });
});

describe('Function: giveUpTime', () => {
  const createdAt = at('2030-01-01T00:00:00Z');

  it('is maxAge after acceptance', () => {
    expect(giveUpTime({ createdAt }, 360_000)).toEqual(at('2030-01-05T04:00:00Z'));
  });

  it('is expiresAt when that comes first', () => {
    expect(giveUpTime({ createdAt, expiresAt: at('2030-01-02T00:00:00Z') }, 360_000)).toEqual(at('2030-01-02T00:00:00Z'));
  });

  it('counts maxAge from sendAt for a scheduled notice', () => {
    expect(giveUpTime({ createdAt, sendAt: at('2030-01-10T00:00:00Z') }, 360_000)).toEqual(at('2030-01-14T04:00:00Z'));
  });
});

describe('Function: firstAttemptTime', () => {
  it('jitters the first attempt by 0 to spreadSeconds', () => {
    const now = at('2030-01-01T00:00:00Z');
    expect(firstAttemptTime(now, 60, lowest)).toEqual(now);
    expect(firstAttemptTime(now, 60, highest)).toEqual(at('2030-01-01T00:01:00Z'));
  });

  it('starts from sendAt when it is later than now', () => {
    expect(firstAttemptTime(at('2030-01-01T00:00:00Z'), 60, lowest, at('2030-01-02T08:00:00Z'))).toEqual(at('2030-01-02T08:00:00Z'));
  });

  it('starts from now when sendAt has passed', () => {
    expect(firstAttemptTime(at('2030-01-01T00:00:00Z'), 0, lowest, at('2029-12-31T00:00:00Z'))).toEqual(at('2030-01-01T00:00:00Z'));
  });
});

describe('Function: randomSeconds', () => {
  it('covers both ends of the range in whole seconds', () => {
    expect(randomSeconds([3, 9], () => 0)).toBe(3);
    expect(randomSeconds([3, 9], () => 0.9999999)).toBe(9);
    expect(randomSeconds([5, 5], Math.random)).toBe(5);
  });
});
