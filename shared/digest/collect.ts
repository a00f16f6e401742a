// Which notices the digest lists: an institution's notices (never a report) that became failed,
// discarded, bounced, complained or suppressed during the day, read from the byInstitution index (never a
// scan). The index is keyed on creation, so the query reaches back as far as a notice can live before its
// ending: retry.maxAgeSeconds, plus a margin for SES feedback that comes after the send.
import type { Notice, NoticeStatus } from '../notice/model';
import type { NoticeStore } from '../store/notice-store';

export const DIGEST_STATUSES: NoticeStatus[] = ['failed', 'discarded', 'bounced', 'complained', 'suppressed'];

/** How long after a notice's last try SES feedback (a late bounce, a complaint) is still listed. */
export const FEEDBACK_MARGIN_SECONDS = 2 * 86_400;

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
  const since = new Date(window.start.getTime() - (maxAgeSeconds + FEEDBACK_MARGIN_SECONDS) * 1000).toISOString();
  const [start, end] = [window.start.toISOString(), window.end.toISOString()];
  const found: Notice[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listNotices(institutionId, { status: DIGEST_STATUSES, since, before: end, limit: PAGE, cursor });
    for (const notice of page.notices) {
      const at = endedAt(notice);
      if (notice.kind === 'notice' && at >= start && at < end) found.push(notice);
    }
    cursor = page.cursor;
  } while (cursor);
  return found.sort((a, b) => endedAt(a).localeCompare(endedAt(b)) || a.id.localeCompare(b.id));
};
