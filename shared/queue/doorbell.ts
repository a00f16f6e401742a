// The queue's contract. A doorbell carries only a notice id: the store holds the truth, and a lost
// doorbell is rung again by the sweep (docs/contributing/notice-flow.md).
import type { NoticeId } from '../ids';
import type { Doorbell } from '../lifecycle/plan';

export interface DoorbellQueue {
  /** Rings doorbells in batches. Returns the ids whose doorbell could not be sent (the sweep finds those). */
  ring(doorbells: Doorbell[]): Promise<NoticeId[]>;
  /** Answers when the queue is reachable. */
  ping(): Promise<void>;
}

/** The body of a doorbell message. */
export const doorbellBody = (id: NoticeId): string => JSON.stringify({ id });

/** Reads a doorbell message body; undefined when it is not one (a stray message is dropped, not retried). */
export const parseDoorbell = (body: string): NoticeId | undefined => {
  try {
    const parsed = JSON.parse(body) as { id?: unknown };
    return typeof parsed.id === 'string' && /^[0-9A-Z]{26}$/.test(parsed.id) ? parsed.id : undefined;
  } catch {
    return undefined;
  }
};
