// What a webhook tells the ILS (docs/integrator/webhooks.md): the event types, one per status a caller acts on, and the
// event's JSON, which names the notice and never carries its body or its patron address.
import type { NoticeId } from '../ids';

/** The statuses an ILS hears about: each is `notice.<status>`. */
/** Statuses of shared/notice/model.ts (a test checks they are). */
export const ANNOUNCED_STATUSES = ['sent', 'delivered', 'bounced', 'complained', 'failed', 'discarded', 'suppressed', 'cancelled'] as const;
export type AnnouncedStatus = (typeof ANNOUNCED_STATUSES)[number];

export const WEBHOOK_EVENT_TYPES = ANNOUNCED_STATUSES.map((status) => `notice.${status}` as const);
export type WebhookEventType = `notice.${AnnouncedStatus}`;

export const isAnnounced = (status: string): status is AnnouncedStatus => (ANNOUNCED_STATUSES as readonly string[]).includes(status);

/**
 * One event, as it is stored with the transition that caused it and as it is posted. `id` is unique (the
 * receiver's de-duplication key); `sequence` counts the notice's events from 1, so a receiver that gets
 * them out of order (a retried `notice.sent` after `notice.delivered`) keeps the higher one.
 */
export interface NoticeEvent {
  id: string;
  type: WebhookEventType;
  /** ISO 8601: when the notice changed. */
  createdAt: string;
  sequence: number;
  notice: {
    id: NoticeId;
    externalId?: string;
    type?: string;
    status: AnnouncedStatus;
    /** The last reply of a mail server or SES (shared/notice/last-reply.ts), shortened as the history keeps it, with every email address taken out. */
    lastReply?: string;
  };
}
