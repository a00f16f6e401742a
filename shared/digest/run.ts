// Sends each institution's daily digest once its local time of day has come (README: The daily digest).
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
import { contentRetention, queued } from '../lifecycle/scheduling';
import { DIGEST_TYPE, type NewNotice, type Notice } from '../notice/model';
import { MAX_NOTICE_BYTES } from '../notice/limits';
import { collectDigestNotices } from './collect';
import { dueDigestDay, localDayWindow } from './day';
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
}

/** How often the digest's runs look for digests that are due (EventBridge on AWS, a timer locally): a digest goes at most this late. */
export const DIGEST_RUN_MINUTES = 15;

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
    const attachment = { filename: rendered.filename, contentType: 'text/csv; charset=utf-8', contentBase64: Buffer.from(`\uFEFF${rendered.csv}`, 'utf8').toString('base64') };
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

/** One institution's digest for `date`: created, already there, or none for an empty day. */
const digestFor = async (deps: DigestDeps, institution: InstitutionConfig, date: string): Promise<keyof DigestResult> => {
  const window = localDayWindow(date, deps.reports.timeZone);
  const id = digestId(institution.id, date, window.end);
  // Cheap, and spares the store's read of the day on every later run of the day.
  if ((await deps.store.existingIds([id])).has(id)) return 'existing';
  const notices = await collectDigestNotices(deps.store, institution.id, window, deps.settings.retry.maxAgeSeconds);
  if (!notices.length) return 'empty';
  const { record, ring } = newDigest(deps, institution, id, date, notices);
  const created = await deps.store.createReport(record);
  // Rung even when another run created it: a second doorbell is harmless (the sender's lease sends once).
  if (ring) await deps.queue.ring([ring]);
  deps.log.info(created ? 'daily digest created' : 'daily digest already existed', { noticeId: id, institution: institution.id, date, notices: notices.length });
  return created ? 'sent' : 'existing';
};

/**
 * Makes the digests that are due: for each institution, yesterday's once today's `reports.timeOfDay` has
 * come in `reports.timeZone`, when `reports.mode` is `daily` or `both`. Safe to run as often as wanted.
 * @example
 * await runDigests(deps); // { sent: 1, empty: 2, existing: 0 }
 */
export const runDigests = async (deps: DigestDeps): Promise<DigestResult> => {
  const result: DigestResult = { sent: 0, empty: 0, existing: 0 };
  if (deps.reports.mode === 'each') return result;
  const date = dueDigestDay(deps.clock.now(), deps.reports);
  if (!date) return result;
  const failed: string[] = [];
  for (const institution of deps.institutions.values()) {
    try {
      result[await digestFor(deps, institution, date)] += 1;
    } catch (error) {
      // One institution's trouble does not hold back the others' digests; the next run tries it again.
      failed.push(institution.id);
      deps.log.error('daily digest failed', { institution: institution.id, date, code: errorCode(error) });
    }
  }
  if (failed.length) throw new Error(`daily digest failed for ${failed.join(', ')}; the next run tries again`);
  return result;
};
