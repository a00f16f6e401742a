// The console's Needs attention (docs/staff/console.md): notices that did not arrive (failed, given
// up, bounced, marked as spam, suppressed), newest first, each with its reason in words; what still
// waits, with its next try; and whether the institution's sending is paused. Exported as CSV for the
// circulation desk's follow-up.
import type { InstitutionConfig } from '../config/schema';
import { type Notice, type NoticeStatus, UNDELIVERED_STATUSES } from '../notice/model';
import type { ListPage, NoticeStore } from '../store/notice-store';
import type { TransportDesk, TransportStatus } from '../transport/desk';
import { toCsv } from '../csv';
import { reasonFor, statusLabel } from './reasons';

export const WAITING_STATUSES: NoticeStatus[] = ['queued', 'retrying', 'sending'];

/** Rows of each list on one page: a full page of both stays under the console's 100 KB a page. */
export const ATTENTION_PAGE_SIZE = 40;
export const WAITING_PAGE_SIZE = 20;
/** Rows of one CSV export: a night's problems many times over, in one response. */
export const CSV_MAX_ROWS = 5000;

export interface AttentionDeps {
  store: NoticeStore;
  desk: TransportDesk;
}

export interface Attention {
  problems: ListPage;
  waiting: ListPage;
  transport: TransportStatus;
}

/** A page of problems (from `cursor`), the first page of what waits, and the transport's state. */
export const needsAttention = async (deps: AttentionDeps, institution: InstitutionConfig, cursors: { problems?: string; waiting?: string } = {}): Promise<Attention> => {
  const [problems, waiting, transport] = await Promise.all([
    deps.store.listNotices(institution.id, { status: UNDELIVERED_STATUSES, limit: ATTENTION_PAGE_SIZE, cursor: cursors.problems }),
    deps.store.listNotices(institution.id, { status: WAITING_STATUSES, limit: WAITING_PAGE_SIZE, cursor: cursors.waiting }),
    deps.desk.status(institution),
  ]);
  return { problems, waiting, transport };
};

const CSV_HEADER = ['id', 'status', 'created', 'updated', 'to', 'subject', 'type', 'externalId', 'tries', 'reason', 'what to do', 'sent again as'];

const csvRow = (notice: Notice) => {
  const reason = reasonFor(notice);
  return [notice.id, statusLabel(notice.status), notice.createdAt, notice.updatedAt, notice.to, notice.subject, notice.type, notice.externalId, notice.attemptCount, reason.summary, reason.action, notice.resentAs];
};

/**
 * Every notice needing attention since `since` (or all kept), newest first, as CSV: at most CSV_MAX_ROWS,
 * with a last line saying so when there were more.
 */
export const attentionCsv = async (deps: Pick<AttentionDeps, 'store'>, institution: InstitutionConfig, since?: string): Promise<string> => {
  const rows: Notice[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.store.listNotices(institution.id, { status: UNDELIVERED_STATUSES, limit: 200, cursor, since });
    rows.push(...page.notices);
    cursor = page.cursor;
  } while (cursor && rows.length < CSV_MAX_ROWS);
  const more = cursor !== undefined || rows.length > CSV_MAX_ROWS;
  const body = rows.slice(0, CSV_MAX_ROWS).map(csvRow);
  return toCsv(CSV_HEADER, more ? [...body, [`more than ${CSV_MAX_ROWS} notices: export a shorter period`]] : body);
};
