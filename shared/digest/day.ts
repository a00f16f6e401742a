// The digest's day (docs/staff/reports.md, The daily digest): the local calendar day in the institution's time zone, as
// an interval of UTC instants. A day of 23 or 25 hours (a DST change) is still one day and one digest.

/** The UTC offset of `zone` at `instant`, in milliseconds (Intl names it as `GMT+05:30`). */
const offsetMs = (instant: number, zone: string): number => {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(instant).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) * 60_000;
};

/** The local calendar date (`YYYY-MM-DD`) and time (`HH:MM`) of `instant` in `zone`. */
export const localDateTime = (instant: Date, zone: string): { date: string; time: string } => {
  const local = new Date(instant.getTime() + offsetMs(instant.getTime(), zone)).toISOString();
  return { date: local.slice(0, 10), time: local.slice(11, 16) };
};

/** `YYYY-MM-DD` moved by `days` calendar days. */
export const addDays = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * The first instant of the local `date` in `zone`. Where midnight itself does not exist (a zone that moves
 * its clocks at 00:00), the first local time that does.
 */
export const startOfLocalDay = (date: string, zone: string): Date => {
  const wall = Date.parse(`${date}T00:00:00Z`);
  // The offset at the guess may be the other side of a change: a second pass settles it.
  const first = wall - offsetMs(wall, zone);
  const second = wall - offsetMs(first, zone);
  return new Date(localDateTime(new Date(second), zone).date === date ? second : first);
};

/** The local `date` in `zone` as the UTC interval [start, end). */
export const localDayWindow = (date: string, zone: string): { start: Date; end: Date } => ({ start: startOfLocalDay(date, zone), end: startOfLocalDay(addDays(date, 1), zone) });

/**
 * The day whose digest is due at `now`: yesterday (local) once today's `timeOfDay` has come, none before.
 * @example
 * dueDigestDay(new Date('2026-03-09T12:00:00Z'), { timeOfDay: '07:00', timeZone: 'America/Chicago' }) // '2026-03-08'
 */
export const dueDigestDay = (now: Date, schedule: { timeOfDay: string; timeZone: string }): string | undefined => {
  const local = localDateTime(now, schedule.timeZone);
  return local.time >= schedule.timeOfDay ? addDays(local.date, -1) : undefined;
};
