// The store's contract: the source of truth for notices (docs/contributing/layout.md). Implemented on DynamoDB by
// dynamo-notice-store.ts; the domain depends only on this.
import type { NoticeId } from '../ids';
import type { Transition } from '../lifecycle/plan';
import type { NewNotice, Notice, NoticeContent, NoticeStatus } from '../notice/model';

export interface ListQuery {
  status?: readonly NoticeStatus[];
  type?: string;
  externalId?: string;
  /** ISO 8601: only notices created at or after it. */
  since?: string;
  /** ISO 8601: only notices created before it. */
  before?: string;
  limit: number;
  cursor?: string;
}

/** A day whose digest was not made because nothing in it was to be told. */
export interface DigestDayMarker {
  /** The id the day's digest would have (digestId). */
  id: NoticeId;
  institutionId: string;
  /** The local date, YYYY-MM-DD. */
  date: string;
  /** ISO 8601: when the marker may go (the table's TTL). */
  retainUntil: string;
}

export interface ListPage {
  notices: Notice[];
  /** Pass back to get the next page; absent on the last one. */
  cursor?: string;
}

export interface NoticeStore {
  /** Writes new notices (state and content) in batches. Throws UnavailableError if some could not be written. */
  createNotices(records: NewNotice[]): Promise<void>;
  /** Removes notices that were written for a request that then failed (best effort). */
  deleteNotices(ids: NoticeId[]): Promise<void>;
  /** Which of these ids exist. */
  existingIds(ids: NoticeId[]): Promise<Set<NoticeId>>;
  /** A notice's state, read consistently. */
  getNotice(id: NoticeId): Promise<Notice | undefined>;
  /** The states of several notices, read consistently. */
  getNotices(ids: NoticeId[]): Promise<Map<NoticeId, Notice>>;
  /** State and content of several notices, for sending. */
  getForDelivery(ids: NoticeId[]): Promise<Map<NoticeId, { notice: Notice; content?: NoticeContent }>>;
  /** An institution's notices, newest first. */
  listNotices(institutionId: string, query: ListQuery): Promise<ListPage>;
  /** Applies a transition if the notice still has the expected version; throws StaleNoticeError if not. */
  apply(transition: Transition): Promise<Notice>;
  /**
   * Empties the notice's webhook outbox once its first `relayed` events are handed on, and takes it out of
   * the sweep's index when nothing else keeps it there; false (and nothing changed) when events were added
   * meanwhile, which the next relay hands on with the rest.
   */
  clearOutbox(id: NoticeId, relayed: number): Promise<boolean>;
  /** Creates a return-to-sender report unless a report with its id exists; true when this call created it. */
  createReport(record: NewNotice): Promise<boolean>;
  /**
   * Which of these daily digests (by id) are settled, in one read: `made` when the digest exists, `empty`
   * when its day was looked at and had nothing to say (see markDigestDayEmpty).
   */
  settledDigestDays(ids: NoticeId[]): Promise<{ made: Set<NoticeId>; empty: Set<NoticeId> }>;
  /** Records that the day of digest `id` had nothing to say, so no later run reads that day again; kept until `retainUntil`. */
  markDigestDayEmpty(marker: DigestDayMarker): Promise<void>;
  /** Ids of notices whose `sweepAt` has come, read from the sparse due index (never a scan). */
  findDue(now: Date, limit: number): Promise<NoticeId[]>;
  /** Answers when the store is reachable. */
  ping(): Promise<void>;
}

/** What the overview counts of a notice: a small part of its state. */
export type NoticeTally = Pick<Notice, 'id' | 'kind' | 'status' | 'createdAt'>;

/**
 * The staff console's lookups besides the API's, read from indexes (never a scan): an institution's
 * notices to one patron address, and the statuses of its recent notices for the overview.
 */
export interface NoticeLookups {
  /** An institution's notices to `address` (in any case), newest first, filtered and paged as `query` says. */
  listNoticesTo(institutionId: string, address: string, query: ListQuery): Promise<ListPage>;
  /**
   * The statuses of the institution's notices accepted at or after `since`, newest first, at most `limit`
   * of them (`complete` is false when there were more). Read eventually consistent: a count, not a decision.
   */
  talliesSince(institutionId: string, since: string, limit: number): Promise<{ notices: NoticeTally[]; complete: boolean }>;
}
