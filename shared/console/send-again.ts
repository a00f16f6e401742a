// "Send again" (docs/staff/console.md): a new notice with the same content, linked to the original
// both ways, its history saying it was done from the console. The original is marked first, with a
// compare-and-set, so a double click makes one copy; should the copy then fail to be written, the mark
// names a notice that does not exist, and the next try replaces it.
import type { Clock, Random } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { ConflictError, StaleNoticeError } from '../errors';
import type { IdSource, NoticeId } from '../ids';
import { findOwned } from '../intake/manage-notices';
import type { LifecycleSettings } from '../lifecycle/plan';
import { markResent, resendOf } from '../lifecycle/transitions';
import type { Log } from '../log';
import type { DoorbellQueue } from '../queue/doorbell';
import type { NoticeStore } from '../store/notice-store';
import { CONTENT_GONE } from './activity';

export interface SendAgainDeps {
  store: NoticeStore;
  queue: DoorbellQueue;
  clock: Clock;
  random: Random;
  newId: IdSource;
  settings: LifecycleSettings;
  log: Log;
}

const MARK_TRIES = 3;

/**
 * Sends a finished notice again as a new one, to `to` when staff corrected the address.
 * Primary course: 1. read the original and its content; 2. mark it as sent again as the new id;
 * 3. write the new notice; 4. ring its doorbell.
 * @throws ConflictError when the notice may not be sent again (still pending, a report, marked as spam,
 * already sent again, its content gone).
 * @example
 * const newId = await sendAgain(deps, institution, id, { to: corrected });
 */
export const sendAgain = async (deps: SendAgainDeps, institution: InstitutionConfig, id: string, options: { to?: string } = {}): Promise<NoticeId> => {
  const newId = deps.newId();
  for (let attempt = 1; ; attempt++) {
    const original = await findOwned(deps.store, institution, id);
    // A link to a copy that was never written (the console stopped between the writes) may be replaced.
    const previous = original.resentAs && !(await deps.store.getNotice(original.resentAs)) ? original.resentAs : undefined;
    const content = (await deps.store.getForDelivery([original.id])).get(original.id)?.content;
    if (!content) throw new ConflictError(CONTENT_GONE, 'content_gone');
    const now = deps.clock.now();
    const mark = markResent(original, newId, now, previous);
    try {
      await deps.store.apply(mark);
    } catch (error) {
      // A sender, the sweep or SES feedback changed it meanwhile: decide again on what it is now.
      if (error instanceof StaleNoticeError && attempt < MARK_TRIES) continue;
      throw error;
    }
    const { record, ring } = resendOf(original, content, { id: newId, now, random: deps.random, settings: deps.settings, to: options.to });
    await deps.store.createNotices([record]);
    if (ring) {
      const unrung = await deps.queue.ring([ring]);
      if (unrung.length) deps.log.warn('doorbell not rung; the sweep will ring it', { noticeId: newId });
    }
    deps.log.info('notice sent again from the console', { noticeId: newId, resentFrom: original.id, institution: institution.id });
    return newId;
  }
};
