import { addDays, dueDigestDay, localDateTime, localDayWindow } from '../../../../shared/digest/day';

const hours = (window: { start: Date; end: Date }) => (window.end.getTime() - window.start.getTime()) / 3_600_000;

describe('Module: digest day', () => {
  it.each([
    ['a plain day in Chicago', '2030-01-15', 'America/Chicago', '2030-01-15T06:00:00.000Z', '2030-01-16T06:00:00.000Z', 24],
    ['the spring change in Chicago (23 hours)', '2030-03-10', 'America/Chicago', '2030-03-10T06:00:00.000Z', '2030-03-11T05:00:00.000Z', 23],
    ['the autumn change in Chicago (25 hours)', '2030-11-03', 'America/Chicago', '2030-11-03T05:00:00.000Z', '2030-11-04T06:00:00.000Z', 25],
    ['the spring change in Berlin', '2030-03-31', 'Europe/Berlin', '2030-03-30T23:00:00.000Z', '2030-03-31T22:00:00.000Z', 23],
    ['a day in UTC', '2030-06-01', 'UTC', '2030-06-01T00:00:00.000Z', '2030-06-02T00:00:00.000Z', 24],
    ['a half-hour zone', '2030-06-01', 'Asia/Kolkata', '2030-05-31T18:30:00.000Z', '2030-06-01T18:30:00.000Z', 24],
    ['a zone whose clocks skip midnight itself (Santiago starts the day at 01:00)', '2030-09-08', 'America/Santiago', '2030-09-08T04:00:00.000Z', '2030-09-09T03:00:00.000Z', 23],
  ])('takes %s as one local calendar day', (_, date, zone, start, end, length) => {
    // Act
    const window = localDayWindow(date, zone);
    // Assess
    expect([window.start.toISOString(), window.end.toISOString(), hours(window)]).toEqual([start, end, length]);
  });

  it('reads the local date and time of an instant', () => {
    // Act & Assess: 02:30 UTC is still the evening before in Chicago
    expect(localDateTime(new Date('2030-01-16T02:30:00Z'), 'America/Chicago')).toEqual({ date: '2030-01-15', time: '20:30' });
  });

  it('owes yesterday only once the local time of day has come, the day after a DST change included', () => {
    // Prepare
    const schedule = { timeOfDay: '07:00', timeZone: 'America/Chicago' };
    // Act & Assess: 06:59 and 07:00 CDT on the Monday after the spring change
    expect(dueDigestDay(new Date('2030-03-11T11:59:00Z'), schedule)).toBeUndefined();
    expect(dueDigestDay(new Date('2030-03-11T12:00:00Z'), schedule)).toBe('2030-03-10');
    expect(dueDigestDay(new Date('2030-03-12T04:59:00Z'), schedule)).toBe('2030-03-10');
  });

  it('moves a date across a month and a year', () => {
    // Act & Assess
    expect([addDays('2030-03-01', -1), addDays('2030-12-31', 1)]).toEqual(['2030-02-28', '2031-01-01']);
  });
});
