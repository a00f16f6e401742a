// The webhook queue's contract: each message is one event for one receiver, on a queue of its own so that a
// slow or dead receiver never holds up a notice's doorbell.
import type { NoticeEvent } from '../webhooks/events';

export interface WebhookMessage {
  institutionId: string;
  /** The receiver (shared/webhooks/receiver.ts): its URL's digest, never its secret. */
  receiver: string;
  event: NoticeEvent;
  /** Tries so far (0 on the first message). */
  tries: number;
  /** When the first try was made: the 24 h of retries count from it. */
  firstTriedAt?: string;
  /** When the next try is due; a message that arrives earlier waits again (SQS delays stop at 15 minutes). */
  dueAt?: string;
}

export interface WebhookQueue {
  /** Sends messages, each after its delay (at most 900 s). Throws when some could not be sent. */
  send(messages: Array<{ message: WebhookMessage; delaySeconds: number }>): Promise<void>;
}

/** Reads a message body; undefined when it is not one of ours (dropped, not retried). */
export const parseWebhookMessage = (body: string): WebhookMessage | undefined => {
  try {
    const parsed = JSON.parse(body) as Partial<WebhookMessage>;
    const event = parsed.event;
    if (typeof parsed.institutionId !== 'string' || typeof parsed.receiver !== 'string' || typeof parsed.tries !== 'number') return undefined;
    if (!event || typeof event.id !== 'string' || typeof event.type !== 'string' || typeof event.notice?.id !== 'string') return undefined;
    return parsed as WebhookMessage;
  } catch {
    return undefined;
  }
};
