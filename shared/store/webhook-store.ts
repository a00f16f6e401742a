// Webhook deliveries' contract (docs/integrator/webhooks.md): one record per event and receiver, with every try's
// outcome, readable by the ILS (`GET /v1/webhooks/deliveries`) and the staff console. Implemented on
// DynamoDB by dynamo-webhook-store.ts.
import type { NoticeId } from '../ids';
import type { WebhookEventType } from '../webhooks/events';

/** One POST of an event to a receiver. */
export interface WebhookTry {
  at: string;
  /** The receiver's HTTP status, when it answered. */
  statusCode?: number;
  /** Why there was no 2xx: `timeout`, `refused`, `status 500`, `private-address`… */
  error?: string;
  durationMs: number;
}

export type WebhookDeliveryStatus = 'retrying' | 'delivered' | 'failed';

export interface WebhookDelivery {
  institutionId: string;
  eventId: string;
  eventType: WebhookEventType;
  noticeId: NoticeId;
  /** The receiver's URL, as configured, and its id (shared/webhooks/receiver.ts). */
  url: string;
  receiver: string;
  status: WebhookDeliveryStatus;
  createdAt: string;
  updatedAt: string;
  /** When the next try is due, while `retrying`. */
  nextAttemptAt?: string;
  tries: WebhookTry[];
}

export interface WebhookDeliveryPage {
  deliveries: WebhookDelivery[];
  cursor?: string;
}

export interface WebhookStore {
  /** Records one try's outcome: creates the record on the first, appends on the next. */
  recordTry(delivery: Omit<WebhookDelivery, 'tries'>, attempt: WebhookTry): Promise<void>;
  /** The delivery of one event to one receiver, if tried. */
  get(institutionId: string, eventId: string, receiver: string): Promise<WebhookDelivery | undefined>;
  /** The institution's deliveries, newest first, paged like the notices. */
  list(institutionId: string, query: { limit: number; cursor?: string }): Promise<WebhookDeliveryPage>;
  /** The deliveries of one notice's events, oldest first (the console's timeline). */
  listForNotice(institutionId: string, noticeId: NoticeId): Promise<WebhookDelivery[]>;
}
