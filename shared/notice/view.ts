// What the API answers about a notice (docs/integrator/api.md). Absent values are null, so every answer has
// the same shape; internal bookkeeping (lease token, sweep time, version) never leaves the service.
import { type FeedbackEvent, type HistoryEntry, isDigest, type Notice, type NoticeStatus } from './model';

export interface NoticeSummary {
  id: string;
  kind: 'notice' | 'return-to-sender' | 'daily-digest';
  status: NoticeStatus;
  to: string;
  subject: string;
  type: string | null;
  externalId: string | null;
  createdAt: string;
  updatedAt: string;
  sendAt: string | null;
  nextAttemptAt: string | null;
  sentAt: string | null;
  messageId: string | null;
  expiresAt: string | null;
  /** When an unsent notice will be discarded: min(expiresAt, due time + maxAge). */
  giveUpAt: string;
  attemptCount: number;
  /** The id of the return-to-sender report this notice produced. */
  returnToSender: string | null;
  /** For a return-to-sender report: the notice it reports. */
  reportFor: string | null;
  /** For a notice sent again from the console: the notice it repeats. */
  resentFrom: string | null;
  /** The notice this one was sent again as, from the console. */
  resentAs: string | null;
}

export interface NoticeDetail extends NoticeSummary {
  attempts: HistoryEntry[];
  events: FeedbackEvent[];
}

export const toSummary = (notice: Notice): NoticeSummary => ({
  id: notice.id,
  kind: isDigest(notice) ? 'daily-digest' : notice.kind === 'report' ? 'return-to-sender' : 'notice',
  status: notice.status,
  to: notice.to,
  subject: notice.subject,
  type: notice.type ?? null,
  externalId: notice.externalId ?? null,
  createdAt: notice.createdAt,
  updatedAt: notice.updatedAt,
  sendAt: notice.sendAt ?? null,
  nextAttemptAt: notice.nextAttemptAt ?? null,
  sentAt: notice.sentAt ?? null,
  messageId: notice.messageId ?? null,
  expiresAt: notice.expiresAt ?? null,
  giveUpAt: notice.giveUpAt,
  attemptCount: notice.attemptCount,
  returnToSender: notice.reportPending ? null : (notice.reportId ?? null),
  reportFor: notice.reportFor ?? null,
  resentFrom: notice.resentFrom ?? null,
  resentAs: notice.resentAs ?? null,
});

export const toDetail = (notice: Notice): NoticeDetail => ({ ...toSummary(notice), attempts: notice.attempts, events: notice.events });
