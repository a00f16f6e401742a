// Hands a notice's outbox to the webhook queue: one message per event and receiver listening to it, then
// empties the outbox. Run right after the transition that wrote the events, and by the sweep for any a
// crash left behind; an event relayed twice is posted twice with one id (the receiver's de-duplication).
import type { InstitutionConfig } from '../config/schema';
import type { Log } from '../log';
import type { Notice } from '../notice/model';
import type { WebhookMessage, WebhookQueue } from '../queue/webhook-queue';
import type { NoticeStore } from '../store/notice-store';
import type { Subscriptions } from '../lifecycle/plan';
import type { WebhookEventType } from './events';
import { receiverId } from './receiver';

export interface RelayDeps {
  store: Pick<NoticeStore, 'clearOutbox'>;
  /** Absent where webhooks are not wired (then no event is written either: no subscriptions). */
  webhookQueue?: WebhookQueue;
  institutions: ReadonlyMap<string, InstitutionConfig>;
  log: Log;
}

/** Which events each institution listens to, from its configured receivers. */
export const subscriptionsOf = (institutions: ReadonlyMap<string, InstitutionConfig>): Subscriptions => {
  const byInstitution = new Map([...institutions.values()].map((institution) => [institution.id, new Set(institution.webhooks.flatMap((hook) => hook.events)) as ReadonlySet<WebhookEventType>]));
  const none: ReadonlySet<WebhookEventType> = new Set();
  return (institutionId) => byInstitution.get(institutionId) ?? none;
};

/** The messages for a notice's outbox: each event to each receiver of its institution that listens to it. */
export const outboxMessages = (notice: Notice, institution: InstitutionConfig | undefined): WebhookMessage[] =>
  (notice.outbox ?? []).flatMap((event) =>
    (institution?.webhooks ?? [])
      .filter((hook) => hook.events.includes(event.type))
      .map((hook) => ({ institutionId: notice.institutionId, receiver: receiverId(hook.url), event, tries: 0 })),
  );

/**
 * Relays the notice's outbox. A failure leaves it for the sweep (logged, not thrown): the notice's own
 * change is done, and a webhook never holds up a notice.
 * @example
 * if (updated.outbox?.length) await relayOutbox(deps, updated);
 */
export const relayOutbox = async (deps: RelayDeps, notice: Notice): Promise<void> => {
  const outbox = notice.outbox ?? [];
  const queue = deps.webhookQueue;
  if (outbox.length === 0 || !queue) return;
  try {
    const messages = outboxMessages(notice, deps.institutions.get(notice.institutionId));
    if (messages.length > 0) await queue.send(messages.map((message) => ({ message, delaySeconds: 0 })));
    await deps.store.clearOutbox(notice.id, outbox.length);
  } catch (error) {
    deps.log.warn('webhook events left for the sweep', { noticeId: notice.id, code: (error as { name?: string }).name ?? 'Error' });
  }
};
