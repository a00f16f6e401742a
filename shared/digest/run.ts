// Sends each institution's daily digest once its local time of day has come (docs/staff/reports.md, The daily digest).
// The digest is a notice of kind `report` to `bounceTo`, sent by the sender through the institution's own
// transport like a return-to-sender report, with its retries. Its id is fixed by the institution and the
// local date, and it is created conditionally: however many runs overlap or crash, one digest exists per
// institution and day, and once it exists the sweep sees that it is sent.
import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import { addSeconds } from '../clock';
import type { InstitutionConfig, ReportsConfig } from '../config/schema';
import type { CoreDeps } from '../core-deps';
import { errorCode } from '../errors';
import type { NoticeId } from '../ids';
import type { Doorbell } from '../lifecycle/plan';
import { contentRetention, queued, retainUntil } from '../lifecycle/scheduling';
import { DIGEST_TYPE, type NewNotice, type Notice } from '../notice/model';
import { MAX_NOTICE_BYTES } from '../notice/limits';
import { collectDigestNotices } from './collect';
import { addDays, dueDigestDay, localDayWindow, startOfLocalDay } from './day';
import { type DigestLimits, groupByReason, renderDigest } from './render';

export interface DigestDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  reports: ReportsConfig;
}

export interface DigestResult {
  /** Institutions whose digest this run created. */
  sent: number;
  /** Institutions with nothing to say for the day (no digest). */
  empty: number;
  /** Institutions whose digest for the day existed already (another run made it). */
  existing: number;
  /** Digests made for days before the due one that no run had made (nothing ran after their time of day). */
  caughtUp: number;
}

/** How often the digest's runs look for digests that are due (EventBridge on AWS, a timer locally): a digest goes at most this late. */
export const DIGEST_RUN_MINUTES = 15;

/**
 * How many days before the due one each run looks for digests never made, because nothing ran from their
 * time of day until the next day's (a machine off over a weekend). Bounded by retention.days too.
 */
export const DIGEST_LOOK_BACK_DAYS = 7;

export { DIGEST_TYPE } from '../notice/model';

/** The email's parts list at most this many notices; the CSV as many as fit a notice's size. */
const BODY_ROWS = 200;

/**
 * The digest's id for an institution and local date: a valid notice id (a ULID whose time is the day's
 * end) whose random part is a hash of both, so every run computes the same one.
 */
export const digestId = (institutionId: string, date: string, dayEnd: Date): NoticeId => {
  const bytes = createHash('sha256').update(`digest\u0000${institutionId}\u0000${date}`, 'utf8').digest();
  let next = 0;
  return ulid(dayEnd.getTime(), () => (bytes[next++ % bytes.length] as number) / 256);
};

/** The digest as a notice to `bounceTo`, its CSV attached, within a notice's size. */
const newDigest = (deps: DigestDeps, institution: InstitutionConfig, id: NoticeId, date: string, notices: Notice[]): { record: NewNotice; ring?: Doorbell } => {
  const now = deps.clock.now();
  const groups = groupByReason(notices);
  const attempt = (limits: DigestLimits) => {
    const rendered = renderDigest({ institutionName: institution.name ?? institution.id, date, timeZone: deps.reports.timeZone, groups, limits });
    const attachment = { filename: rendered.filename, contentType: 'text/csv; charset=utf-8', contentBase64: Buffer.from(rendered.csv, 'utf8').toString('base64') };
    const size = Buffer.byteLength(rendered.text) + Buffer.byteLength(rendered.html) + attachment.contentBase64.length;
    return { rendered, attachment, size };
  };
  let limits: DigestLimits = { bodyRows: BODY_ROWS, csvRows: notices.length };
  let made = attempt(limits);
  while (made.size > MAX_NOTICE_BYTES && limits.csvRows > 0) {
    limits = { ...limits, csvRows: Math.floor(limits.csvRows * 0.7) };
    made = attempt(limits);
  }
  const giveUpAt = addSeconds(now, deps.settings.retry.maxAgeSeconds);
  const subject = made.rendered.subject.slice(0, 998);
  const { notice, ring } = queued({ id, institutionId: institution.id, kind: 'report', to: institution.bounceTo, subject, type: DIGEST_TYPE }, { now, first: now, giveUpAt }, deps.settings);
  return {
    record: { notice, content: { to: institution.bounceTo, subject, text: made.rendered.text, html: made.rendered.html, attachments: [made.attachment] }, retainContentUntil: contentRetention(giveUpAt) },
    ring,
  };
};

/** The digest of one day not yet settled: created (or created meanwhile by another run), or a marker for an empty day. */
const makeDigest = async (deps: DigestDeps, institution: InstitutionConfig, day: DigestDay, missed: boolean): Promise<'sent' | 'empty' | 'existing'> => {
  const notices = await collectDigestNotices(deps.store, institution.id, day.window, deps.settings.retry.maxAgeSeconds);
  if (!notices.length) {
    // One small write, so that no later run reads the day's notices again to find it empty again.
    await deps.store.markDigestDayEmpty({ id: day.id, institutionId: institution.id, date: day.date, retainUntil: retainUntil(deps.clock.now(), deps.settings) });
    return 'empty';
  }
  const { record, ring } = newDigest(deps, institution, day.id, day.date, notices);
  const created = await deps.store.createReport(record);
  // Rung even when another run created it: a second doorbell is harmless (the sender's lease sends once).
  if (ring) await deps.queue.ring([ring]);
  deps.log.info(created ? 'daily digest created' : 'daily digest already existed', { noticeId: day.id, institution: institution.id, date: day.date, notices: notices.length, ...(missed ? { missed } : {}) });
  return created ? 'sent' : 'existing';
};

interface DigestDay {
  date: string;
  window: { start: Date; end: Date };
  id: NoticeId;
}

const digestDay = (institutionId: string, date: string, timeZone: string): DigestDay => {
  const window = localDayWindow(date, timeZone);
  return { date, window, id: digestId(institutionId, date, window.end) };
};

/**
 * The days before `due` a run looks back to, newest first: at most DIGEST_LOOK_BACK_DAYS, and none whose
 * notices retention may already have deleted (a digest of part of a day would mislead the desk).
 */
export const lookBackDays = (due: string, now: Date, schedule: { timeZone: string; retentionDays: number }): string[] =>
  Array.from({ length: DIGEST_LOOK_BACK_DAYS }, (_, i) => addDays(due, -(i + 1))).filter(
    (date) => startOfLocalDay(date, schedule.timeZone).getTime() + schedule.retentionDays * 86_400_000 > now.getTime(),
  );

/**
 * One institution's digests: those of the days missed since the last day settled (a digest made or the
 * day found empty), oldest first, then the due day's. All the days' digests and markers come in one read.
 * Missed days are only those after a settled one: a run that finds none settled in the look-back (the
 * first run after `daily` is turned on) makes the due day's alone, never digests of days `each` reported.
 */
const digestsFor = async (deps: DigestDeps, institution: InstitutionConfig, due: string): Promise<{ due: keyof Omit<DigestResult, 'caughtUp'>; caughtUp: number }> => {
  const zone = deps.reports.timeZone;
  const dueDay = digestDay(institution.id, due, zone);
  const earlier = lookBackDays(due, deps.clock.now(), { timeZone: zone, retentionDays: deps.settings.retentionDays }).map((date) => digestDay(institution.id, date, zone));
  const settled = await deps.store.settledDigestDays([dueDay.id, ...earlier.map((day) => day.id)]);
  const isSettled = (day: DigestDay) => settled.made.has(day.id) || settled.empty.has(day.id);
  const lastSettled = earlier.findIndex(isSettled);
  const missed = lastSettled === -1 ? [] : earlier.slice(0, lastSettled).reverse();
  let caughtUp = 0;
  for (const day of missed) if ((await makeDigest(deps, institution, day, true)) === 'sent') caughtUp += 1;
  if (settled.made.has(dueDay.id)) return { due: 'existing', caughtUp };
  if (settled.empty.has(dueDay.id)) return { due: 'empty', caughtUp };
  return { due: await makeDigest(deps, institution, dueDay, false), caughtUp };
};

/**
 * Makes the digests that are due: for each institution, yesterday's once today's `reports.timeOfDay` has
 * come in `reports.timeZone`, when `reports.mode` is `daily` or `both`, and those of the days before it
 * that no run made (DIGEST_LOOK_BACK_DAYS). Safe to run as often as wanted.
 * @example
 * await runDigests(deps); // { sent: 1, empty: 2, existing: 0, caughtUp: 0 }
 */
export const runDigests = async (deps: DigestDeps): Promise<DigestResult> => {
  const result: DigestResult = { sent: 0, empty: 0, existing: 0, caughtUp: 0 };
  if (deps.reports.mode === 'each') return result;
  const date = dueDigestDay(deps.clock.now(), deps.reports);
  if (!date) return result;
  const failed: string[] = [];
  for (const institution of deps.institutions.values()) {
    try {
      const made = await digestsFor(deps, institution, date);
      result[made.due] += 1;
      result.caughtUp += made.caughtUp;
    } catch (error) {
      // One institution's trouble does not hold back the others' digests; the next run tries it again.
      failed.push(institution.id);
      deps.log.error('daily digest failed', { institution: institution.id, date, code: errorCode(error) });
    }
  }
  if (failed.length) throw new Error(`daily digest failed for ${failed.join(', ')}; the next run tries again`);
  return result;
};
