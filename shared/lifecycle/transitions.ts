// The one place that decides a notice's transitions (README: How delivery works). Each function reads a notice and
// returns a Plan: the change to make (a compare-and-set on the notice's version), the doorbell to ring,
// and whether a return-to-sender report is owed. The store applies plans; it decides nothing.
//
// queued ─▶ sending ─▶ sent ─▶ (delivered | bounced | complained)
//    ▲         ├─▶ retrying ─▶ sending …         transient failure
//    │         ├─▶ failed                        permanent failure          (report)
//    │         └─▶ (lease expires) ─▶ due again
// queued/retrying ─▶ cancelled                    DELETE before it is sent
// queued/retrying/sending ─▶ discarded            giveUpAt reached             (report)
// queued/retrying/sending ─▶ delivered | bounced | complained                 SES reported on a copy it took
import { addSeconds, type Random, secondsUntil } from '../clock';
import { ConflictError, type DeliveryError } from '../errors';
import type { IdSource, NoticeId } from '../ids';
import type { FeedbackEvent, HistoryEntry, NewNotice, Notice, NoticeContent, NoticeInput, NoticeStatus, ReturnToSenderReport } from '../notice/model';
import { PENDING_STATUSES } from '../notice/model';
import { firstAttemptTime, giveUpTime, nextAttempt, type RetryPolicy } from '../retry/policy';

/** SQS cannot delay a message longer than this; later attempts wait in the store for the sweep. */
export const SQS_MAX_DELAY_SECONDS = 900;
/** How long before a far-off attempt the sweep rings its doorbell (with the rest as the delay). */
export const RING_AHEAD_SECONDS = 600;
/** Longest history message kept: a server reply is evidence, not a transcript. */
const MAX_HISTORY_MESSAGE = 300;

export interface LifecycleSettings {
  retry: RetryPolicy;
  leaseSeconds: number;
  retentionDays: number;
  spreadSeconds: number;
}

/** What the lifecycle needs besides the notice and the time: settings, jitter, and ids for reports. */
export interface LifecycleContext {
  settings: LifecycleSettings;
  random: Random;
  newId: IdSource;
}

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
}

export interface Doorbell {
  id: NoticeId;
  delaySeconds: number;
}

export interface Plan {
  transition: Transition;
  ring?: Doorbell;
  /** The notice became failed or discarded and owes a report (created by createReport). */
  reportOwed?: boolean;
}

const FINAL_STATUSES: ReadonlySet<NoticeStatus> = new Set(['sent', 'delivered', 'bounced', 'complained', 'failed', 'discarded', 'cancelled']);
export const isFinal = (status: NoticeStatus): boolean => FINAL_STATUSES.has(status);

const iso = (date: Date): string => date.toISOString();
const at = (value: string): Date => new Date(value);
const earlier = (a: Date, b: Date): Date => (a < b ? a : b);

/** After this long past its due time, a rung notice's doorbell is presumed lost and the sweep rings again. */
export const doorbellGraceSeconds = (settings: Pick<LifecycleSettings, 'leaseSeconds'>): number => 2 * settings.leaseSeconds;
/**
 * A doorbell that seems lost may only be waiting behind a backlog (a night's batch against a relay
 * limited to 30 a minute): each ring the sweep adds without an attempt in between doubles the wait
 * before the next, up to this many doublings, so a backlog is not flooded with duplicate doorbells.
 */
const MAX_RING_DOUBLINGS = 6;

const retainUntil = (now: Date, settings: LifecycleSettings): string => iso(addSeconds(now, settings.retentionDays * 86_400));
/** A notice is final by its give-up time plus a lease; a day later its content is no longer needed. */
const contentRetention = (giveUpAt: Date): string => iso(addSeconds(giveUpAt, 86_400));

const shorten = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : text.length > MAX_HISTORY_MESSAGE ? `${text.slice(0, MAX_HISTORY_MESSAGE - 1)}…` : text;

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

const pendingStatus = (notice: Pick<Notice, 'attemptCount'>): NoticeStatus => (notice.attemptCount > 0 ? 'retrying' : 'queued');

const withRing = (transition: Transition, id: NoticeId, delaySeconds: number | undefined): Plan =>
  delaySeconds === undefined ? { transition } : { transition, ring: { id, delaySeconds } };

/** The first time a notice counts its age from: its `sendAt`, or when it was accepted. */
const dueFrom = (notice: Pick<Notice, 'createdAt' | 'sendAt'>): Date =>
  notice.sendAt && notice.sendAt > notice.createdAt ? at(notice.sendAt) : at(notice.createdAt);

type QueuedFields = Pick<Notice, 'id' | 'institutionId' | 'kind' | 'to' | 'subject' | 'type' | 'externalId' | 'reportFor' | 'sendAt' | 'expiresAt'>;

/** A new `queued` notice whose first attempt is at `first`, and the doorbell that attempt needs now, if any. */
const queued = (fields: QueuedFields, times: { now: Date; first: Date; giveUpAt: Date }, settings: LifecycleSettings): { notice: Notice; ring?: Doorbell } => {
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

/**
 * A notice as accepted: `queued`, its first attempt jittered, its give-up time fixed.
 * @example
 * const { record, ring } = newNotice(input, { id, institutionId, now, random, settings });
 */
export const newNotice = (
  input: NoticeInput,
  ctx: { id: NoticeId; institutionId: string; now: Date; random: Random; settings: LifecycleSettings },
): { record: NewNotice; ring?: Doorbell } => {
  const { id, now, settings } = ctx;
  const sendAt = input.sendAt ? at(input.sendAt) : undefined;
  const expiresAt = input.expiresAt ? at(input.expiresAt) : undefined;
  const giveUpAt = giveUpTime({ createdAt: now, sendAt, expiresAt }, settings.retry.maxAgeSeconds);
  let first = firstAttemptTime(now, settings.spreadSeconds, ctx.random, sendAt);
  if (first >= giveUpAt) first = new Date(Math.max(now.getTime(), giveUpAt.getTime() - 1000));
  const { notice, ring } = queued(
    { id, institutionId: ctx.institutionId, kind: 'notice', to: input.to, subject: input.subject, type: input.type, externalId: input.externalId, sendAt: input.sendAt, expiresAt: input.expiresAt },
    { now, first, giveUpAt },
    settings,
  );
  const content = {
    to: input.to,
    cc: input.cc,
    replyTo: input.replyTo,
    subject: input.subject,
    text: input.text,
    html: input.html,
    attachments: input.attachments,
  };
  return { record: { notice, content: dropUndefined(content), retainContentUntil: contentRetention(giveUpAt) }, ring };
};

/** What the sender does with a doorbell. */
export type DoorbellDecision =
  | { action: 'send' }
  | { action: 'skip'; reason: 'final' | 'leased' | 'report-pending' | 'reported-by-ses' }
  | { action: 'wait'; until: Date }
  | { action: 'give-up' };

/** Decides what a doorbell for `notice` means at `now`: SQS delivers at least once, and sometimes early. */
export const onDoorbell = (notice: Notice, now: Date): DoorbellDecision => {
  if (notice.reportPending || isFinal(notice.status)) return { action: 'skip', reason: notice.reportPending ? 'report-pending' : 'final' };
  if (notice.status === 'sending' && notice.leaseExpiresAt && at(notice.leaseExpiresAt) > now) return { action: 'skip', reason: 'leased' };
  // Its sender died after SES took the message and reported on it: the sweep ends it, nobody sends it again.
  if (notice.reportedBySes) return { action: 'skip', reason: 'reported-by-ses' };
  if (now >= at(notice.giveUpAt)) return { action: 'give-up' };
  // SQS delays are whole seconds; a doorbell up to a second early is on time.
  if (notice.nextAttemptAt && at(notice.nextAttemptAt).getTime() > now.getTime() + 1000) return { action: 'wait', until: at(notice.nextAttemptAt) };
  return { action: 'send' };
};

/** Rings again a doorbell that came early, or leaves a far-off notice to the sweep. */
export const waitFor = (notice: Notice, until: Date, now: Date): Doorbell | undefined => {
  const delaySeconds = secondsUntil(until, now);
  return delaySeconds <= SQS_MAX_DELAY_SECONDS ? { id: notice.id, delaySeconds } : undefined;
};

/**
 * Takes the `sending` lease. While it lasts no other sender touches the notice; if this sender dies,
 * the lease expires at `leaseExpiresAt` and the sweep makes the notice due again.
 */
export const takeLease = (notice: Notice, now: Date, token: string, settings: Pick<LifecycleSettings, 'leaseSeconds'>): Transition => {
  const leaseExpiresAt = addSeconds(now, settings.leaseSeconds);
  return {
    id: notice.id,
    expectVersion: notice.version,
    set: { status: 'sending', leaseExpiresAt: iso(leaseExpiresAt), leaseToken: token, updatedAt: iso(now), sweepAt: iso(leaseExpiresAt) },
    remove: ['nextAttemptAt', 'sweepRings'],
    // Taking over a lapsed lease: the previous sender's attempt has no recorded outcome.
    append: notice.status === 'sending' ? [leaseExpiredEntry(notice, now, 'sending')] : undefined,
  };
};

const leaseExpiredEntry = (notice: Notice, now: Date, status: NoticeStatus): HistoryEntry => ({
  at: iso(now),
  outcome: 'lease-expired',
  status,
  message: `the sender that took this notice at ${notice.updatedAt} recorded no outcome before its lease expired`,
});

/** The outcome of one attempt, as the transport reported it. */
export type AttemptResult =
  | { ok: true; transport: 'smtp' | 'ses'; server: string; messageId: string; response?: string; responseCode?: number; enhancedStatus?: string; startedAt: Date }
  | { ok: false; error: DeliveryError; startedAt: Date };

const attemptEntry = (result: AttemptResult, status: NoticeStatus, now: Date): HistoryEntry =>
  dropUndefined(
    result.ok
      ? {
          at: iso(now),
          startedAt: iso(result.startedAt),
          outcome: 'sent' as const,
          status,
          transport: result.transport,
          server: result.server,
          // An SMTP server's acceptance has a reply code like its refusals (the transport read it); SES answers with a message id.
          responseCode: result.responseCode,
          enhancedStatus: result.enhancedStatus,
          message: shorten(result.response),
        }
      : {
          at: iso(now),
          startedAt: iso(result.startedAt),
          outcome: result.error.verdict,
          status,
          transport: result.error.facts.transport,
          server: result.error.facts.server,
          responseCode: result.error.facts.responseCode,
          enhancedStatus: result.error.facts.enhancedStatus,
          code: result.error.facts.code,
          message: shorten(result.error.message),
        },
  );

/** The copies a relay took in an attempt that failed for the patron, added to those taken before. */
const copiesSentAfter = (notice: Notice, error: DeliveryError): Pick<Notice, 'copiesSent'> => {
  const accepted = error.facts.copiesAccepted ?? [];
  if (accepted.length === 0) return {};
  return { copiesSent: [...new Set([...(notice.copiesSent ?? []), ...accepted.map((address) => address.toLowerCase())])] };
};

const clearLease: Array<keyof Notice> = ['leaseExpiresAt', 'leaseToken'];
/** What an attempt uses up: its lease, and the rate-limit slot it was given. */
const spent: Array<keyof Notice> = [...clearLease, 'reservedSlotAt'];

/**
 * Records an attempt of a leased notice: `sent`; `retrying` at the policy's next time, or waiting
 * for its give-up time when no attempt fits before it; `failed` on a permanent refusal.
 */
export const afterAttempt = (notice: Notice, result: AttemptResult, now: Date, ctx: LifecycleContext): Plan => {
  const { settings } = ctx;
  const base = { id: notice.id, expectVersion: notice.version, countAttempt: true };
  if (notice.reportedBySes) {
    // SES reported on a copy while this attempt ran: that is how the notice ends, whatever the attempt said.
    const verdict = notice.reportedBySes;
    return settleBySes(notice, verdict, now, ctx, [attemptEntry(result, verdict, now)], { countAttempt: true, set: result.ok ? { sentAt: iso(now), messageId: result.messageId } : {} });
  }
  if (result.ok) {
    return {
      transition: {
        ...base,
        set: { status: 'sent', sentAt: iso(now), messageId: result.messageId, updatedAt: iso(now), retainUntil: retainUntil(now, settings) },
        remove: [...spent, 'sweepAt', 'nextAttemptAt'],
        append: [attemptEntry(result, 'sent', now)],
      },
    };
  }
  if (result.error.verdict === 'permanent') {
    return finish(notice, 'failed', now, ctx, [attemptEntry(result, 'failed', now)], true);
  }
  const giveUpAt = at(notice.giveUpAt);
  if (now >= giveUpAt) {
    return finish(notice, 'discarded', now, ctx, [attemptEntry(result, 'discarded', now), discardEntry(notice, now, settings)], true);
  }
  const next = nextAttempt({ dueFrom: dueFrom(notice), giveUpAt }, now, settings.retry, ctx.random);
  const append = [attemptEntry(result, 'retrying', now)];
  const copies = copiesSentAfter(notice, result.error);
  if (next.kind === 'give-up') {
    // No attempt fits before giveUpAt: the notice waits for it, and the sweep discards it then.
    return { transition: { ...base, set: { status: 'retrying', updatedAt: iso(now), sweepAt: notice.giveUpAt, ...copies }, remove: [...spent, 'nextAttemptAt'], append } };
  }
  const schedule = scheduleAttempt(next.at, now, giveUpAt, settings);
  return withRing(
    { ...base, set: { status: 'retrying', nextAttemptAt: iso(next.at), updatedAt: iso(now), sweepAt: iso(schedule.sweepAt), ...copies }, remove: spent, append },
    notice.id,
    schedule.ringDelaySeconds,
  );
};

/**
 * Puts a leased notice back to wait until `until` without counting an attempt: a transport's rate
 * limit or a relay's pause held it back. With `reserved`, `until` is a send slot kept for it.
 */
export const defer = (notice: Notice, until: Date, now: Date, ctx: LifecycleContext, reason: string, reserved = false): Plan => {
  const { settings } = ctx;
  // SES reported on an earlier copy meanwhile: nothing is left to wait for.
  if (notice.reportedBySes) return settleBySes(notice, notice.reportedBySes, now, ctx, []);
  const status = pendingStatus(notice);
  const append = [{ at: iso(now), outcome: 'deferred' as const, status, message: reason }];
  const base = { id: notice.id, expectVersion: notice.version, append };
  if (until >= at(notice.giveUpAt)) {
    return { transition: { ...base, set: { status, updatedAt: iso(now), sweepAt: notice.giveUpAt }, remove: [...spent, 'nextAttemptAt'] } };
  }
  const schedule = scheduleAttempt(until, now, at(notice.giveUpAt), settings);
  return withRing(
    {
      ...base,
      set: { status, nextAttemptAt: iso(until), updatedAt: iso(now), sweepAt: iso(schedule.sweepAt), ...(reserved ? { reservedSlotAt: iso(until) } : {}) },
      remove: reserved ? clearLease : spent,
    },
    notice.id,
    schedule.ringDelaySeconds,
  );
};

/**
 * What a notice that owes a return-to-sender report carries until the report exists: its id, fixed here
 * (a compare-and-set lets one actor end the notice, so one id exists), and a place in the sweep's index,
 * so a crash cannot lose the report.
 */
const owesReport = (now: Date, ctx: LifecycleContext): Pick<Notice, 'reportPending' | 'reportId' | 'sweepAt'> => ({
  reportPending: true,
  reportId: ctx.newId(),
  sweepAt: iso(addSeconds(now, doorbellGraceSeconds(ctx.settings))),
});

/**
 * Ends a notice as failed or discarded. A notice (not a report) then owes one return-to-sender report.
 */
const finish = (notice: Notice, status: 'failed' | 'discarded', now: Date, ctx: LifecycleContext, append: HistoryEntry[], countAttempt = false): Plan => {
  const reportOwed = notice.kind === 'notice';
  return {
    transition: {
      id: notice.id,
      expectVersion: notice.version,
      countAttempt,
      append,
      set: {
        status,
        updatedAt: iso(now),
        retainUntil: retainUntil(now, ctx.settings),
        ...(reportOwed ? owesReport(now, ctx) : {}),
      },
      remove: [...spent, 'nextAttemptAt', ...(reportOwed ? [] : (['sweepAt'] as Array<keyof Notice>))],
    },
    reportOwed,
  };
};

const discardEntry = (notice: Notice, now: Date, settings: LifecycleSettings): HistoryEntry => {
  const expired = notice.expiresAt !== undefined && notice.expiresAt <= notice.giveUpAt;
  return {
    at: iso(now),
    outcome: 'discarded',
    status: 'discarded',
    message: expired
      ? `expired at ${notice.expiresAt} before it could be delivered`
      : `not delivered within ${formatDuration(settings.retry.maxAgeSeconds)} of becoming due`,
  };
};

const formatDuration = (seconds: number): string =>
  seconds % 3600 === 0 ? `${seconds / 3600} hours` : seconds % 60 === 0 ? `${seconds / 60} minutes` : `${seconds} seconds`;

/** Gives a notice up at its `giveUpAt`: `discarded`, with the reason in its history. */
export const discard = (notice: Notice, now: Date, ctx: LifecycleContext): Plan => finish(notice, 'discarded', now, ctx, [discardEntry(notice, now, ctx.settings)]);

/** What the sweep does with a notice it found due. */
export type SweepAction = { kind: 'none' } | { kind: 'plan'; plan: Plan } | { kind: 'create-report' };

/**
 * Decides what the sweep does with a notice whose `sweepAt` has come. Every branch sets a later
 * `sweepAt` or none, so the sweep never acts twice on the same notice for the same reason.
 */
export const sweepAction = (notice: Notice, now: Date, ctx: LifecycleContext): SweepAction => {
  if (!notice.sweepAt || at(notice.sweepAt) > now) return { kind: 'none' };
  if (notice.reportPending) return { kind: 'create-report' };
  const { settings } = ctx;
  const base = { id: notice.id, expectVersion: notice.version, remove: [] };
  const giveUpAt = at(notice.giveUpAt);
  if (PENDING_STATUSES.has(notice.status)) {
    if (now >= giveUpAt) return { kind: 'plan', plan: discard(notice, now, ctx) };
    if (!notice.nextAttemptAt) return { kind: 'plan', plan: { transition: { ...base, set: { sweepAt: notice.giveUpAt } } } };
    const due = new Date(Math.max(at(notice.nextAttemptAt).getTime(), now.getTime()));
    const rings = notice.sweepRings ?? 0;
    const schedule = scheduleAttempt(due, now, giveUpAt, settings, rings);
    const set = schedule.ringDelaySeconds === undefined ? { sweepAt: iso(schedule.sweepAt) } : { sweepAt: iso(schedule.sweepAt), sweepRings: rings + 1 };
    return { kind: 'plan', plan: withRing({ ...base, set }, notice.id, schedule.ringDelaySeconds) };
  }
  if (notice.status === 'sending') {
    if (notice.leaseExpiresAt && at(notice.leaseExpiresAt) > now) return { kind: 'plan', plan: { transition: { ...base, set: { sweepAt: notice.leaseExpiresAt } } } };
    return { kind: 'plan', plan: releaseLease(notice, now, ctx) };
  }
  return { kind: 'plan', plan: { transition: { ...base, set: {}, remove: ['sweepAt'] } } };
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

/** An expired lease: the sender died or lost the store mid-attempt. The notice is due again at once. */
const releaseLease = (notice: Notice, now: Date, ctx: LifecycleContext): Plan => {
  // SES reported on the copy the dead sender handed it: the notice ends so, and is not sent again.
  if (notice.reportedBySes) return settleBySes(notice, notice.reportedBySes, now, ctx, [leaseExpiredEntry(notice, now, notice.reportedBySes)]);
  if (now >= at(notice.giveUpAt)) {
    return finish(notice, 'discarded', now, ctx, [leaseExpiredEntry(notice, now, 'discarded'), discardEntry(notice, now, ctx.settings)]);
  }
  const status = pendingStatus(notice);
  const schedule = scheduleAttempt(now, now, at(notice.giveUpAt), ctx.settings);
  return withRing(
    {
      id: notice.id,
      expectVersion: notice.version,
      set: { status, nextAttemptAt: iso(now), updatedAt: iso(now), sweepAt: iso(schedule.sweepAt) },
      remove: spent,
      append: [leaseExpiredEntry(notice, now, status)],
    },
    notice.id,
    schedule.ringDelaySeconds,
  );
};

/** Who acts on a notice besides the pipeline: the ILS through the API, or library staff in the console. */
export type Actor = 'ils' | 'console';

/** Cancels a notice not yet sent (DELETE, or the console). `undefined` means it is already cancelled: nothing to do. */
export const cancel = (notice: Notice, now: Date, settings: LifecycleSettings, by: Actor = 'ils'): Transition | undefined => {
  if (notice.status === 'cancelled') return undefined;
  if (!PENDING_STATUSES.has(notice.status)) {
    throw new ConflictError(
      notice.status === 'sending' ? 'The notice is being sent right now and can no longer be cancelled.' : `The notice is already ${notice.status} and can no longer be cancelled.`,
      'not_cancellable',
    );
  }
  return {
    id: notice.id,
    expectVersion: notice.version,
    set: { status: 'cancelled', updatedAt: iso(now), retainUntil: retainUntil(now, settings) },
    remove: ['nextAttemptAt', 'sweepAt'],
    append: [{ at: iso(now), outcome: 'cancelled', status: 'cancelled', message: by === 'console' ? 'cancelled from the console before it was sent' : 'cancelled by the ILS before it was sent' }],
  };
};

/**
 * Why a notice may not be sent again from the console, or undefined when it may: it must be over (a
 * notice still waiting or being sent would go twice), a notice rather than a report, and not one the
 * patron marked as spam (mailing a complainer again hurts the sender's reputation with every provider).
 * Its return-to-sender report may still be owed: the sweep makes it all the same.
 */
export const resendRefusal = (notice: Notice): string | undefined => {
  if (notice.kind === 'report') return 'A return-to-sender report is not sent again; send the notice it reports again instead.';
  if (PENDING_STATUSES.has(notice.status) || notice.status === 'sending') return 'The notice is still being sent; cancel it first, or wait for its outcome.';
  if (notice.status === 'complained') return 'The patron marked this notice as spam: do not email them again; reach them another way.';
  if (!isFinal(notice.status)) return `A ${notice.status} notice is not sent again.`;
  return undefined;
};

/**
 * The link on a notice sent again from the console: it names the new notice, once (a compare-and-set, so
 * two clicks make one copy). `previous` is a link already there whose notice was never created (the
 * console stopped between the two writes), which a new try may replace.
 */
export const markResent = (original: Notice, newId: NoticeId, now: Date, previous?: NoticeId): Transition => {
  const refusal = resendRefusal(original);
  if (refusal) throw new ConflictError(refusal, 'not_resendable');
  if (original.resentAs !== undefined && original.resentAs !== previous) {
    throw new ConflictError(`The notice was already sent again as ${original.resentAs}; send that one again if it too did not arrive.`, 'already_resent');
  }
  return {
    id: original.id,
    expectVersion: original.version,
    set: { resentAs: newId, updatedAt: iso(now) },
    remove: [],
    append: [{ at: iso(now), outcome: 'resent', status: original.status, message: `sent again from the console as ${newId}` }],
  };
};

/**
 * The new notice that sends `original` again, from the console: its content (to `to` when staff corrected
 * the address), queued with its first attempt now, linked to the original both ways. A past `expiresAt`
 * is dropped: staff chose to send it; a future one still holds.
 */
export const resendOf = (
  original: Notice,
  content: NoticeContent,
  ctx: { id: NoticeId; now: Date; random: Random; settings: LifecycleSettings; to?: string },
): { record: NewNotice; ring?: Doorbell } => {
  const { now } = ctx;
  const input: NoticeInput = dropUndefined({
    to: ctx.to ?? content.to,
    cc: content.cc,
    replyTo: content.replyTo,
    subject: content.subject,
    text: content.text,
    html: content.html,
    attachments: content.attachments,
    type: original.type,
    externalId: original.externalId,
    expiresAt: original.expiresAt && at(original.expiresAt) > now ? original.expiresAt : undefined,
  });
  const made = newNotice(input, { id: ctx.id, institutionId: original.institutionId, now, random: ctx.random, settings: { ...ctx.settings, spreadSeconds: 0 } });
  const copy = ctx.to !== undefined && ctx.to.toLowerCase() !== content.to.toLowerCase() ? ' (to a corrected address)' : '';
  const entry: HistoryEntry = { at: iso(now), outcome: 'resent', status: 'queued', message: `sent again from the console${copy}: a copy of ${original.id}` };
  return { ...made, record: { ...made.record, notice: { ...made.record.notice, resentFrom: original.id, attempts: [entry] } } };
};

/** What an SES event means for a notice: the event to record and, maybe, the status it reaches. */
export interface Feedback {
  event: FeedbackEvent;
  becomes?: 'delivered' | 'bounced' | 'complained';
  /** The receiving side's enhanced status code (a bounce's `status`). */
  enhancedStatus?: string;
}

/** From which final statuses SES feedback may move a notice: a bounce can follow a delivery, never the reverse. */
const FEEDBACK_FROM: Record<SesVerdict, ReadonlySet<NoticeStatus>> = {
  delivered: new Set(['sent']),
  bounced: new Set(['sent', 'delivered']),
  complained: new Set(['sent', 'delivered']),
};

type SesVerdict = NonNullable<Feedback['becomes']>;

/** Of two things SES reported about one notice, the one it ends with: a bounce or a complaint outranks a delivery. */
const strongest = (seen: SesVerdict | undefined, next: SesVerdict): SesVerdict => (seen === undefined || seen === 'delivered' ? next : seen);

/** A `sending` notice whose sender died: its lease has lapsed and no outcome will be recorded for it. */
const leaseLapsed = (notice: Notice, now: Date): boolean => notice.status === 'sending' && (!notice.leaseExpiresAt || at(notice.leaseExpiresAt) <= now);

/**
 * Ends as SES reported a notice that had not recorded `sent` (still to be tried again after an attempt
 * whose answer was lost, or held by a sender): `delivered`, `bounced` (owing its report) or `complained`,
 * with nothing left of its schedule, lease or slot.
 */
const settleBySes = (
  notice: Notice,
  verdict: SesVerdict,
  now: Date,
  ctx: LifecycleContext,
  append: HistoryEntry[],
  extra: { set?: Transition['set']; countAttempt?: boolean; appendEvents?: FeedbackEvent[] } = {},
): Plan => {
  const reportOwed = verdict === 'bounced' && notice.kind === 'notice' && !notice.reportId;
  return {
    transition: {
      id: notice.id,
      expectVersion: notice.version,
      countAttempt: extra.countAttempt,
      set: {
        ...extra.set,
        status: verdict,
        updatedAt: iso(now),
        retainUntil: retainUntil(now, ctx.settings),
        ...(reportOwed ? owesReport(now, ctx) : {}),
      },
      remove: [...spent, 'nextAttemptAt', 'sweepRings', 'reportedBySes', ...(reportOwed ? [] : (['sweepAt'] as Array<keyof Notice>))],
      append: append.length ? append : undefined,
      appendEvents: extra.appendEvents,
    },
    reportOwed,
  };
};

/**
 * Records SES feedback on a notice SES took. `undefined` when the event was recorded before (EventBridge
 * delivers at least once). SES reports only on a message it accepted, so a delivery, a hard bounce or a
 * complaint also ends a notice that had not recorded `sent`: one waiting to be tried again (an attempt
 * timed out after SES took the message) ends at once; one a sender holds keeps the verdict for that
 * sender, or for the sweep if the sender died. A hard bounce of a notice owes one return-to-sender report.
 */
export const onFeedback = (notice: Notice, feedback: Feedback, now: Date, ctx: LifecycleContext): Plan | undefined => {
  const { event } = feedback;
  // EventBridge delivers at least once: the same event again changes nothing. Two recipients' events may
  // share a type and a time, so the detail counts too.
  if (notice.events.some((seen) => seen.type === event.type && seen.at === event.at && seen.detail === event.detail)) return undefined;
  const entry = (status: NoticeStatus): HistoryEntry =>
    dropUndefined({ at: event.at, outcome: feedback.becomes as SesVerdict, status, transport: 'ses' as const, server: 'ses', enhancedStatus: feedback.enhancedStatus, message: shorten(event.detail) });
  const becomes = feedback.becomes;
  if (becomes && notice.status === 'sending' && !leaseLapsed(notice, now)) {
    // The sender's compare-and-set on the version sees this, and plans its outcome again on it.
    return {
      transition: { id: notice.id, expectVersion: notice.version, set: { updatedAt: iso(now), reportedBySes: strongest(notice.reportedBySes, becomes) }, remove: [], appendEvents: [event], append: [entry('sending')] },
    };
  }
  if (becomes && (PENDING_STATUSES.has(notice.status) || notice.status === 'sending')) {
    const verdict = strongest(notice.reportedBySes, becomes);
    const lapsed = notice.status === 'sending' ? [leaseExpiredEntry(notice, now, verdict)] : [];
    return settleBySes(notice, verdict, now, ctx, [...lapsed, entry(verdict)], { appendEvents: [event] });
  }
  const moves = becomes && FEEDBACK_FROM[becomes].has(notice.status) ? becomes : undefined;
  const reportOwed = moves === 'bounced' && notice.kind === 'notice' && !notice.reportId;
  return {
    transition: {
      id: notice.id,
      expectVersion: notice.version,
      set: {
        updatedAt: iso(now),
        ...(moves ? { status: moves } : {}),
        ...(reportOwed ? owesReport(now, ctx) : {}),
      },
      remove: [],
      appendEvents: [event],
      append: moves ? [entry(moves)] : undefined,
    },
    reportOwed,
  };
};

/**
 * The return-to-sender report owed by a failed or discarded notice: a notice of kind `report` to the
 * institution's `bounceTo`, sent like any other but never reported on itself. It names the original's
 * externalId in its text but does not take it as its own, so an ILS that looks its notice up by
 * externalId finds that notice alone, not a report that was `sent`.
 */
export const newReport = (original: Notice & { reportId: NoticeId }, ctx: { bounceTo: string; now: Date; settings: LifecycleSettings }): { record: NewNotice; ring: Doorbell } => {
  const { now, settings } = ctx;
  const id = original.reportId;
  const outcome = original.status === 'failed' ? 'failed' : original.status === 'bounced' ? 'bounced' : 'discarded';
  // A bounce is the reason even when the attempt that sent the message is recorded after it (SES may
  // report before the sender has written its outcome).
  // Staff may send it again before the report is made: that is not why it failed.
  const last = [...original.attempts].reverse().find((entry) => (outcome === 'bounced' ? entry.outcome === 'bounced' : entry.outcome !== 'deferred' && entry.outcome !== 'resent'));
  const report: ReturnToSenderReport = dropUndefined({
    noticeId: original.id,
    outcome,
    recipient: original.to,
    subject: original.subject,
    type: original.type,
    externalId: original.externalId,
    createdAt: original.createdAt,
    attempts: original.attempts,
    reason: last?.message ?? outcome,
  });
  const subject = `Undelivered notice: ${original.subject}`.slice(0, 998);
  const giveUpAt = addSeconds(now, settings.retry.maxAgeSeconds);
  const { notice, ring } = queued(
    { id, institutionId: original.institutionId, kind: 'report', reportFor: original.id, to: ctx.bounceTo, subject, type: 'return-to-sender' },
    { now, first: now, giveUpAt },
    settings,
  );
  return { record: { notice, content: { to: ctx.bounceTo, subject, report }, retainContentUntil: contentRetention(giveUpAt) }, ring: ring as Doorbell };
};

/** The report exists: the original leaves the sweep's index. */
export const reportCreated = (original: Notice): Transition => ({
  id: original.id,
  expectVersion: original.version,
  set: {},
  remove: ['reportPending', 'sweepAt'],
});

const dropUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
