// Which notices the digest lists: an institution's notices (never a report) that became failed,
// discarded, bounced, complained or suppressed during the day, read from the byInstitution index (never a
// scan). The index is keyed on creation, so the query reaches back as far as a notice usually lives before
// its ending: retry.maxAgeSeconds, plus a week for a notice scheduled ahead (sendAt) and for SES feedback
// that comes days after the send. Reading twelve days of an institution's notices once a day (and once more
// for each day a run catches up) costs a few thousand read units at 2,000 notices a day; what ends later than that (a notice scheduled more than a
// week ahead that then fails) is in GET /v1/notices and the console, not the digest.
import { type Notice, UNDELIVERED_STATUSES } from '../notice/model';
import type { NoticeStore } from '../store/notice-store';

/** How much later than retry.maxAgeSeconds after its creation a notice's ending is still listed. */
export const LATE_ENDING_MARGIN_SECONDS = 7 * 86_400;

const PAGE = 100;

/**
 * When the notice reached its present status: the last history entry or SES event that moved it there
 * (a bounce or complaint may be recorded only as an event), else its last change.
 */
export const endedAt = (notice: Notice): string => {
  const entry = [...notice.attempts].reverse().find((seen) => seen.status === notice.status);
  const eventType = notice.status === 'bounced' ? 'bounce' : notice.status === 'complained' ? 'complaint' : undefined;
  const event = eventType ? [...notice.events].reverse().find((seen) => seen.type === eventType || (eventType === 'bounce' && seen.type === 'reject')) : undefined;
  return [entry?.at, event?.at].filter((at): at is string => at !== undefined).sort().at(-1) ?? notice.updatedAt;
};

/** The institution's notices that ended in [start, end), oldest ending first. */
export const collectDigestNotices = async (store: NoticeStore, institutionId: string, window: { start: Date; end: Date }, maxAgeSeconds: number): Promise<Notice[]> => {
  const since = new Date(window.start.getTime() - (maxAgeSeconds + LATE_ENDING_MARGIN_SECONDS) * 1000).toISOString();
  const [start, end] = [window.start.toISOString(), window.end.toISOString()];
  const found: Notice[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listNotices(institutionId, { status: UNDELIVERED_STATUSES, since, before: end, limit: PAGE, cursor });
    for (const notice of page.notices) {
      const at = endedAt(notice);
      if (notice.kind === 'notice' && at >= start && at < end) found.push(notice);
    }
    cursor = page.cursor;
  } while (cursor);
  return found.sort((a, b) => endedAt(a).localeCompare(endedAt(b)) || a.id.localeCompare(b.id));
};
