// Held notices rung again when sending resumes (docs/it/mail-systems.md, When sending pauses). A pause that
// ends before its probe time (a Test Server run that works, say) leaves `resumed` in the institution's
// transport state; the sweep, which alone reads the due index, finds there the notices held for that
// probe and rings each one now, spread as the intake spreads a batch. A doorbell counts no attempt, the
// sender sends a held notice only once the pause is over (lifecycle/transitions.ts, onDoorbell), and its
// lease sends it once however many doorbells ring.
//
// Where a held notice's sweep time lies: one the sender wrote back (held past 15 minutes, or the attempt
// that met the refusal) has it at the probe time it was held for, plus at most the intake's spread and a
// doorbell's grace; one left in the queue (held within 15 minutes, no write) has the sweep time it had,
// which is no later unless the sweep rang it again meanwhile, and its doorbell comes within 15 minutes anyway.
import { addSeconds } from '../clock';
import type { CoreDeps } from '../core-deps';
import type { Doorbell, LifecycleSettings } from '../lifecycle/plan';
import { doorbellGraceSeconds, SQS_MAX_DELAY_SECONDS } from '../lifecycle/scheduling';
import { heldForPause } from '../lifecycle/transitions';
import { type Notice, PENDING_STATUSES } from '../notice/model';
import { randomSeconds } from '../retry/policy';
import type { Resumption } from '../transport/records';

/**
 * Due-index entries read at most for one resumption, the earliest first, of all institutions: a held
 * notice beyond them comes back at its own time, and the log says some may have.
 */
export const HELD_LIMIT = 2000;

/** The latest sweep time a notice held for the pause's last probe can have. */
export const heldSweepBound = (resumed: Resumption, settings: Pick<LifecycleSettings, 'spreadSeconds' | 'leaseSeconds'>): Date => {
  const latest = Math.max(Date.parse(resumed.heldUntil), Date.parse(resumed.at));
  return addSeconds(new Date(latest), settings.spreadSeconds + doorbellGraceSeconds(settings));
};

/**
 * Whether a notice the due index gave is one to ring for the institution's resumption: waiting, and held
 * for the pause, or due already (held in the queue for the probe, which wrote nothing to it).
 */
export const ringsOnResumption = (notice: Notice, institutionId: string, resumedAt: Date): boolean =>
  notice.institutionId === institutionId &&
  PENDING_STATUSES.has(notice.status) &&
  !notice.reportPending &&
  (heldForPause(notice) || (notice.nextAttemptAt !== undefined && Date.parse(notice.nextAttemptAt) <= resumedAt.getTime()));

/**
 * Rings now the notices of `institutionId` held for the pause that `resumed` ended. Returns how many doorbells rang.
 * @example
 * if (state.resumed) await ringHeldNotices(deps, institution.id, state.resumed);
 */
export const ringHeldNotices = async (deps: CoreDeps, institutionId: string, resumed: Resumption): Promise<number> => {
  const ids = await deps.store.findDue(heldSweepBound(resumed, deps.settings), HELD_LIMIT);
  if (ids.length === 0) return 0;
  if (ids.length >= HELD_LIMIT) deps.log.warn('held notices beyond the first read keep their own time', { institution: institutionId, read: ids.length });
  const notices = await deps.store.getNotices(ids);
  const resumedAt = new Date(resumed.at);
  // Spread as the intake spreads a night's batch, so the relay that just came back is not hit all at once.
  const spread: [number, number] = [0, Math.min(deps.settings.spreadSeconds, SQS_MAX_DELAY_SECONDS)];
  const doorbells: Doorbell[] = [...notices.values()]
    .filter((notice) => ringsOnResumption(notice, institutionId, resumedAt))
    .map((notice) => ({ id: notice.id, delaySeconds: randomSeconds(spread, deps.random) }));
  if (doorbells.length === 0) return 0;
  const unrung = await deps.queue.ring(doorbells);
  if (unrung.length) deps.log.warn('held notices not rung; they come back at their own time', { institution: institutionId, count: unrung.length });
  return doorbells.length - unrung.length;
};
