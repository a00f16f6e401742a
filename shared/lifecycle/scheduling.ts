// When things happen to a notice (docs/contributing/notice-flow.md): where an attempt waits (a doorbell's SQS delay
// within 15 minutes, else the store until the sweep rings it), when the sweep looks again, when a doorbell is
// presumed lost, and how long a notice and its content are kept. Pure: times in, times out.
import { addSeconds, secondsUntil } from '../clock';
import type { NoticeId } from '../ids';
import { type Notice, PENDING_STATUSES } from '../notice/model';
import { at, type Doorbell, dropUndefined, iso, type LifecycleSettings, type Plan, type Transition } from './plan';

/** SQS cannot delay a message longer than this; later attempts wait in the store for the sweep. */
export const SQS_MAX_DELAY_SECONDS = 900;
/** How long before a far-off attempt the sweep rings its doorbell (with the rest as the delay). */
export const RING_AHEAD_SECONDS = 600;

const earlier = (a: Date, b: Date): Date => (a < b ? a : b);

/** After this long past its due time, a rung notice's doorbell is presumed lost and the sweep rings again. */
export const doorbellGraceSeconds = (settings: Pick<LifecycleSettings, 'leaseSeconds'>): number => 2 * settings.leaseSeconds;
/**
 * A doorbell that seems lost may only be waiting behind a backlog (a night's batch against a relay
 * limited to 30 a minute): each ring the sweep adds without an attempt in between doubles the wait
 * before the next, up to this many doublings, so a backlog is not flooded with duplicate doorbells.
 */
const MAX_RING_DOUBLINGS = 6;

/** How long a final notice is kept (DynamoDB TTL): `retention.days` from now. */
export const retainUntil = (now: Date, settings: Pick<LifecycleSettings, 'retentionDays'>): string => iso(addSeconds(now, settings.retentionDays * 86_400));
/** A notice is final by its give-up time plus a lease; a day later its content is no longer needed. */
export const contentRetention = (giveUpAt: Date): string => iso(addSeconds(giveUpAt, 86_400));

/**
 * Where an attempt due at `due` waits: SQS holds it (a doorbell with a delay) when it is due within
 * 15 minutes, else the store does until the sweep rings it. Either way the sweep looks again at
 * `sweepAt`, which is never later than `giveUpAt`.
 */
export const scheduleAttempt = (
  due: Date,
  now: Date,
  giveUpAt: Date,
  settings: Pick<LifecycleSettings, 'leaseSeconds'>,
  sweepRings = 0,
): { sweepAt: Date; ringDelaySeconds?: number } => {
  const delay = secondsUntil(due, now);
  if (delay <= SQS_MAX_DELAY_SECONDS) {
    const grace = doorbellGraceSeconds(settings) * 2 ** Math.min(sweepRings, MAX_RING_DOUBLINGS);
    return { sweepAt: earlier(addSeconds(due, grace), giveUpAt), ringDelaySeconds: delay };
  }
  return { sweepAt: earlier(addSeconds(due, -RING_AHEAD_SECONDS), giveUpAt) };
};

export const withRing = (transition: Transition, id: NoticeId, delaySeconds: number | undefined): Plan =>
  delaySeconds === undefined ? { transition } : { transition, ring: { id, delaySeconds } };

/** The first time a notice counts its age from: its `sendAt`, or when it was accepted. */
export const dueFrom = (notice: Pick<Notice, 'createdAt' | 'sendAt'>): Date =>
  notice.sendAt && notice.sendAt > notice.createdAt ? at(notice.sendAt) : at(notice.createdAt);

type QueuedFields = Pick<Notice, 'id' | 'institutionId' | 'kind' | 'to' | 'subject' | 'type' | 'externalId' | 'reportFor' | 'sendAt' | 'expiresAt'>;

/** A new `queued` notice whose first attempt is at `first`, and the doorbell that attempt needs now, if any. */
export const queued = (fields: QueuedFields, times: { now: Date; first: Date; giveUpAt: Date }, settings: LifecycleSettings): { notice: Notice; ring?: Doorbell } => {
  const schedule = scheduleAttempt(times.first, times.now, times.giveUpAt, settings);
  const notice: Notice = {
    ...fields,
    version: 1,
    status: 'queued',
    createdAt: iso(times.now),
    updatedAt: iso(times.now),
    giveUpAt: iso(times.giveUpAt),
    nextAttemptAt: iso(times.first),
    attemptCount: 0,
    attempts: [],
    events: [],
    sweepAt: iso(schedule.sweepAt),
  };
  return { notice: dropUndefined(notice), ring: schedule.ringDelaySeconds === undefined ? undefined : { id: fields.id, delaySeconds: schedule.ringDelaySeconds } };
};

/** Rings again a doorbell that came early, or leaves a far-off notice to the sweep. */
export const waitFor = (notice: Notice, until: Date, now: Date): Doorbell | undefined => {
  const delaySeconds = secondsUntil(until, now);
  return delaySeconds <= SQS_MAX_DELAY_SECONDS ? { id: notice.id, delaySeconds } : undefined;
};

/**
 * The doorbell a waiting notice needs once the queue has lost every message (npm start's queue lives in
 * memory, so a restart starts it empty): a queued or retrying notice due within SQS's longest delay rings
 * now instead of after the sweep's grace for a doorbell presumed lost. Every other notice is the sweep's.
 * A doorbell too many is harmless: the lease sends a notice once.
 */
export const doorbellAfterQueueLoss = (notice: Notice, now: Date): Doorbell | undefined => {
  if (!PENDING_STATUSES.has(notice.status) || notice.reportPending || !notice.nextAttemptAt) return undefined;
  const delaySeconds = secondsUntil(at(notice.nextAttemptAt), now);
  return delaySeconds <= SQS_MAX_DELAY_SECONDS ? { id: notice.id, delaySeconds } : undefined;
};
