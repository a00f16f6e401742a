// GET /v1/notices/{id}, GET /v1/notices and DELETE /v1/notices/{id}, for the institution that owns them.
import type { Clock } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { NotFoundError, StaleNoticeError } from '../errors';
import { isNoticeId } from '../ids';
import type { IdSource } from '../ids';
import type { LifecycleSettings, Subscriptions } from '../lifecycle/plan';
import type { Log } from '../log';
import type { WebhookQueue } from '../queue/webhook-queue';
import { relayOutbox } from '../webhooks/relay';
import { type Actor, cancel } from '../lifecycle/transitions';
import type { Notice } from '../notice/model';
import { type NoticeDetail, type NoticeSummary, toDetail, toSummary } from '../notice/view';
import type { ListQuery, NoticeStore } from '../store/notice-store';

export interface ManageDeps {
  store: NoticeStore;
  clock: Clock;
  settings: LifecycleSettings;
  /** With these, a cancellation is announced to the institution's webhooks. */
  newId?: IdSource;
  subscriptions?: Subscriptions;
  webhookQueue?: WebhookQueue;
  institutions?: ReadonlyMap<string, InstitutionConfig>;
  log?: Log;
}

/**
 * A notice of this institution; another institution's notice does not exist, as far as the caller can tell.
 * ULIDs are case-insensitive, so an id an ILS stored in lower case still finds its notice.
 */
export const findOwned = async (store: NoticeStore, institution: InstitutionConfig, id: string): Promise<Notice> => {
  const canonical = id.toUpperCase();
  const notice = isNoticeId(canonical) ? await store.getNotice(canonical) : undefined;
  if (!notice || notice.institutionId !== institution.id) throw new NotFoundError(`No notice ${id} exists for this API key.`);
  return notice;
};

export const getNotice = async (deps: ManageDeps, institution: InstitutionConfig, id: string): Promise<NoticeDetail> =>
  toDetail(await findOwned(deps.store, institution, id));

export const listNotices = async (deps: ManageDeps, institution: InstitutionConfig, query: ListQuery): Promise<{ notices: NoticeSummary[]; cursor: string | null }> => {
  const page = await deps.store.listNotices(institution.id, query);
  return { notices: page.notices.map(toSummary), cursor: page.cursor ?? null };
};

const CANCEL_TRIES = 3;

/**
 * Cancels a notice not yet sent, for the ILS (DELETE /v1/notices/{id}) or staff in the console. Cancelling a cancelled notice answers the same; a notice being
 * sent or already sent is a ConflictError.
 */
export const cancelNotice = async (deps: ManageDeps, institution: InstitutionConfig, id: string, by: Actor = 'ils'): Promise<NoticeDetail> => {
  for (let attempt = 1; ; attempt++) {
    const notice = await findOwned(deps.store, institution, id);
    const events = deps.newId && deps.subscriptions ? { newId: deps.newId, subscriptions: deps.subscriptions } : undefined;
    const transition = cancel(notice, deps.clock.now(), deps.settings, by, events);
    if (!transition) return toDetail(notice);
    try {
      const updated = await deps.store.apply(transition);
      if (deps.institutions && deps.log) await relayOutbox({ store: deps.store, webhookQueue: deps.webhookQueue, institutions: deps.institutions, log: deps.log }, updated);
      return toDetail(updated);
    } catch (error) {
      // A sender or the sweep moved the notice meanwhile: decide again on what it is now.
      if (!(error instanceof StaleNoticeError) || attempt >= CANCEL_TRIES) throw error;
    }
  }
};

export interface HealthDeps {
  store: Pick<NoticeStore, 'ping'>;
  queue: { ping(): Promise<void> };
}

const PING_TIMEOUT_MS = 3000;

const check = async (ping: () => Promise<void>): Promise<'ok' | 'unavailable'> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([ping(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS)))]);
    return 'ok';
  } catch {
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
};

/** Whether the store and the queue answer. */
export const health = async (deps: HealthDeps): Promise<{ ok: boolean; store: string; queue: string }> => {
  const [store, queue] = await Promise.all([check(() => deps.store.ping()), check(() => deps.queue.ping())]);
  return { ok: store === 'ok' && queue === 'ok', store, queue };
};
