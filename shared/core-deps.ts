// What every use case of the domain is given: the store, the queue, time, randomness, ids, a log and
// the lifecycle's settings. Each use case adds what only it needs.
import type { Clock, Random } from './clock';
import type { IdSource } from './ids';
import type { LifecycleSettings, Subscriptions } from './lifecycle/plan';
import type { Log } from './log';
import type { DoorbellQueue } from './queue/doorbell';
import type { WebhookQueue } from './queue/webhook-queue';
import type { NoticeStore } from './store/notice-store';

export interface CoreDeps {
  store: NoticeStore;
  queue: DoorbellQueue;
  clock: Clock;
  random: Random;
  newId: IdSource;
  log: Log;
  settings: LifecycleSettings;
  /** The webhook queue; with it, `subscriptions` says which events the lifecycle writes to a notice's outbox. */
  webhookQueue?: WebhookQueue;
  subscriptions?: Subscriptions;
}
