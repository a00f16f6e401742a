// The vocabulary of the lifecycle (docs/contributing/notice-flow.md): the settings it reads, and the Plan each
// decision returns: a compare-and-set on one notice, the doorbell to ring, whether a report is owed.
// It decides nothing; the store applies plans and decides nothing either.
import type { Random } from '../clock';
import type { IdSource, NoticeId } from '../ids';
import type { FeedbackEvent, HistoryEntry, Notice } from '../notice/model';
import type { RetryPolicy } from '../retry/policy';
import type { NoticeEvent, WebhookEventType } from '../webhooks/events';

export interface LifecycleSettings {
  retry: RetryPolicy;
  leaseSeconds: number;
  retentionDays: number;
  spreadSeconds: number;
  /** `reports.mode`: whether a notice that did not arrive owes its own return-to-sender report. */
  reportsMode?: 'each' | 'daily' | 'both';
}

/** What the lifecycle needs besides the notice and the time: settings, jitter, and ids for reports. */
export interface LifecycleContext {
  settings: LifecycleSettings;
  random: Random;
  newId: IdSource;
  /** Which webhook events each institution listens to; none when absent. */
  subscriptions?: Subscriptions;
}

/** Which webhook events an institution listens to (none: nothing is written to the outbox). */
export type Subscriptions = (institutionId: string) => ReadonlySet<WebhookEventType>;

/** A compare-and-set on one notice: applied only if its version is still `expectVersion`. */
export interface Transition {
  id: NoticeId;
  expectVersion: number;
  set: Partial<Omit<Notice, 'id' | 'version' | 'attempts' | 'attemptCount'>>;
  remove: Array<keyof Notice>;
  /** Appended to the history, in order. */
  append?: HistoryEntry[];
  /** Appended to the SES feedback events. */
  appendEvents?: FeedbackEvent[];
  /** The transition records the outcome of an attempt. */
  countAttempt?: boolean;
  /** Webhook events for the outbox, written with the change that caused them. */
  appendOutbox?: NoticeEvent[];
}

export interface Doorbell {
  id: NoticeId;
  delaySeconds: number;
}

export interface Plan {
  transition: Transition;
  ring?: Doorbell;
  /** The notice ended so that it owes a return-to-sender report (./reports.ts decides; createReport makes it). */
  reportOwed?: boolean;
}

/** What an attempt holds while it runs: its lease. */
export const clearLease: Array<keyof Notice> = ['leaseExpiresAt', 'leaseToken'];
/** What an attempt uses up: its lease, and the rate-limit slot it was given. */
export const spent: Array<keyof Notice> = [...clearLease, 'reservedSlotAt'];

export const iso = (date: Date): string => date.toISOString();
export const at = (value: string): Date => new Date(value);

/** The value without its undefined fields, as the store keeps no empty attributes. */
export const dropUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
