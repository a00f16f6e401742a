// The notice as the domain sees it: what the ILS submits, what is stored, and its history.
import type { NoticeId } from '../ids';
import type { NoticeEvent } from '../webhooks/events';

export const NOTICE_STATUSES = [
  'queued',
  'sending',
  'retrying',
  'sent',
  'delivered',
  'bounced',
  'complained',
  'failed',
  'discarded',
  'cancelled',
  /** Accepted but never sent: the address is on the institution's suppression list. */
  'suppressed',
] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

/** States that mean the patron did not get the notice: what the console's Needs attention and the daily digest list. */
export const UNDELIVERED_STATUSES: readonly NoticeStatus[] = ['bounced', 'complained', 'failed', 'discarded', 'suppressed'];

/** States in which the notice still waits for delivery. */
export const PENDING_STATUSES: ReadonlySet<NoticeStatus> = new Set(['queued', 'retrying']);

export interface AttachmentInput {
  filename: string;
  contentType: string;
  contentBase64: string;
}

/** One notice as the ILS submits it (docs/integrator/api.md), after validation and normalisation. */
export interface NoticeInput {
  to: string;
  subject: string;
  text?: string;
  html?: string;
  replyTo?: string;
  cc?: string[];
  type?: string;
  externalId?: string;
  /** ISO 8601, normalised to UTC. */
  sendAt?: string;
  expiresAt?: string;
  attachments?: AttachmentInput[];
}

/** What is mailed: kept apart from the state so that a status change never rewrites it. */
export interface NoticeContent {
  to: string;
  cc?: string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  attachments?: AttachmentInput[];
  /** Set on a return-to-sender report: the machine-readable part of its RFC 3464 report. */
  report?: ReturnToSenderReport;
}

/** What a return-to-sender report says about the notice it reports. */
export interface ReturnToSenderReport {
  noticeId: NoticeId;
  /** `failed` (a permanent refusal) or `discarded` (given up after retries or expiry). */
  outcome: 'failed' | 'discarded' | 'bounced';
  recipient: string;
  subject: string;
  type?: string;
  externalId?: string;
  createdAt: string;
  attempts: HistoryEntry[];
  reason: string;
}

/** How an attempt or transition ended, as the history records it. */
export type HistoryOutcome =
  | 'sent'
  | 'transient'
  | 'permanent'
  | 'deferred'
  | 'lease-expired'
  | 'discarded'
  | 'cancelled'
  | 'delivered'
  | 'bounced'
  | 'complained'
  /** Not sent: the address is on the suppression list. */
  | 'suppressed'
  /** Sent again from the console: on the original, the new notice's id; on the new one, the original's. */
  | 'resent';

/** One entry of a notice's history: an attempt and its result, or a transition. */
export interface HistoryEntry {
  at: string;
  outcome: HistoryOutcome;
  /** The status the notice moved to. */
  status: NoticeStatus;
  transport?: 'smtp' | 'ses';
  /** `host:port` of the relay that answered, or `ses`. */
  server?: string;
  /** SMTP reply code (RFC 5321 §4.2). */
  responseCode?: number;
  /** RFC 3463 enhanced status code, e.g. `4.3.2`. */
  enhancedStatus?: string;
  /** A short error code: Nodemailer's (`ECONNECTION`), an SES error name, or ours. */
  code?: string;
  /** The server's reply or a description of the error, shortened. */
  message?: string;
  startedAt?: string;
}

/** An event that Amazon SES reported after the notice was sent. */
export interface FeedbackEvent {
  at: string;
  type: 'delivery' | 'bounce' | 'complaint' | 'reject' | 'deliveryDelay';
  detail?: string;
}

/**
 * The type of the daily digest, a notice of kind `report` to the desk that, unlike a return-to-sender
 * report, reports no one notice: the API, the console and the digest itself tell the two apart by it.
 */
export const DIGEST_TYPE = 'daily-digest';

/** A report to the desk that is the daily digest, not a return-to-sender report. */
export const isDigest = (notice: Pick<Notice, 'kind' | 'type'>): boolean => notice.kind === 'report' && notice.type === DIGEST_TYPE;

/** The stored state of a notice: everything but the content. */
export interface Notice {
  id: NoticeId;
  institutionId: string;
  /** Grows by one with every change: each change is a compare-and-set on it. */
  version: number;
  /** A return-to-sender report is itself a notice, which never produces a report of its own. */
  kind: 'notice' | 'report';
  reportFor?: NoticeId;
  reportId?: NoticeId;
  /** A notice sent again (from the console) as a new notice: the original's id, on the new one. */
  resentFrom?: NoticeId;
  /** The new notice this one was sent again as. */
  resentAs?: NoticeId;
  status: NoticeStatus;
  to: string;
  subject: string;
  type?: string;
  externalId?: string;
  createdAt: string;
  updatedAt: string;
  sendAt?: string;
  expiresAt?: string;
  /** When the notice is given up: `min(expiresAt, max(createdAt, sendAt) + maxAge)`. */
  giveUpAt: string;
  nextAttemptAt?: string;
  leaseExpiresAt?: string;
  leaseToken?: string;
  attemptCount: number;
  attempts: HistoryEntry[];
  events: FeedbackEvent[];
  sentAt?: string;
  messageId?: string;
  /** When the sweep must next look at the notice; absent once nothing can be due. */
  sweepAt?: string;
  /** Doorbells the sweep rang since the last attempt began (each doubles the wait for the next). */
  sweepRings?: number;
  /** A send slot the transport's rate limit reserved for this notice; it is sent then without another. */
  reservedSlotAt?: string;
  /**
   * The copies (cc), in lower case, that a relay accepted in an attempt that failed for the patron's own
   * address: a retry sends to the patron and the others only.
   */
  copiesSent?: string[];
  /** A failed or discarded notice whose report is not yet created. */
  reportPending?: boolean;
  /**
   * What SES reported about the notice while a sender held it: the status it ends with once that sender
   * records its attempt, or once the sweep finds the sender's lease lapsed. SES took a copy, so it is
   * not sent again.
   */
  reportedBySes?: 'delivered' | 'bounced' | 'complained';
  /** When the record may be deleted (retention); set once the notice is final. */
  retainUntil?: string;
  /**
   * Webhook events written with the transitions that caused them and not yet handed to the webhook queue
   * (an outbox: a crash between the two loses none; the sweep relays what is left).
   */
  outbox?: NoticeEvent[];
  /** How many webhook events the notice has had: the last one's `sequence`. */
  eventSeq?: number;
}

/** A notice ready to be written: state and content. */
export interface NewNotice {
  notice: Notice;
  content: NoticeContent;
  /**
   * When the content may be deleted: a day after the notice's give-up time, by which it is final.
   * The content is never rewritten, so this is fixed when it is written.
   */
  retainContentUntil: string;
}
