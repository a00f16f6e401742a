// The one place that decides a notice's transitions (docs/contributing/notice-flow.md). Each function reads a notice and
// returns a Plan (./plan.ts): the change to make (a compare-and-set on the notice's version), the doorbell to
// ring, and whether a return-to-sender report is owed. When things happen is ./scheduling.ts's; what the
// history says, ./history.ts's; what SES feedback does, ./feedback.ts's; which endings owe a report,
// ./reports.ts's. The store applies plans; it decides nothing.
//
// queued ─▶ sending ─▶ sent ─▶ (delivered | bounced | complained)
//    ▲         ├─▶ retrying ─▶ sending …         transient failure
//    │         ├─▶ failed                        permanent failure          (report)
//    │         └─▶ (lease expires) ─▶ due again
// queued/retrying ─▶ cancelled                    DELETE before it is sent
// queued/retrying/sending ─▶ discarded            giveUpAt reached             (report)
// queued/retrying/sending ─▶ delivered | bounced | complained                 SES reported on a copy it took
import { addSeconds, type Random } from '../clock';
import { ConflictError, type DeliveryError } from '../errors';
import type { NoticeId } from '../ids';
import type { HistoryEntry, NewNotice, Notice, NoticeContent, NoticeInput, NoticeStatus } from '../notice/model';
import { PENDING_STATUSES } from '../notice/model';
import { firstAttemptTime, giveUpTime, nextAttempt } from '../retry/policy';
import { knownOutcomeOf } from '../transport/classify';
import { announce, announced } from './events';
import { settleBySes } from './feedback';
import { type AttemptResult, attemptEntry, discardEntry, leaseExpiredEntry } from './history';
import { at, clearLease, type Doorbell, dropUndefined, iso, type LifecycleContext, type LifecycleSettings, type Plan, spent, type Transition } from './plan';
import { owesReport, reportOwed } from './reports';
import { contentRetention, doorbellGraceSeconds, dueFrom, queued, retainUntil, scheduleAttempt, withRing } from './scheduling';

const FINAL_STATUSES: ReadonlySet<NoticeStatus> = new Set(['sent', 'delivered', 'bounced', 'complained', 'failed', 'discarded', 'cancelled', 'suppressed']);
export const isFinal = (status: NoticeStatus): boolean => FINAL_STATUSES.has(status);

const pendingStatus = (notice: Pick<Notice, 'attemptCount'>): NoticeStatus => (notice.attemptCount > 0 ? 'retrying' : 'queued');

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

/**
 * Whether the notice waits for its institution's paused sending rather than for a time of its own: its
 * last history entry holds it for a refusal of the institution's setup (the attempt that met the refusal,
 * or a deferral while sending was paused). The time it was given is the probe's, and means nothing once
 * the pause is over.
 */
export const heldForPause = (notice: Notice): boolean => {
  const last = notice.attempts.at(-1);
  if (!PENDING_STATUSES.has(notice.status) || !last?.code || (last.outcome !== 'deferred' && last.outcome !== 'transient')) return false;
  return knownOutcomeOf(last.code)?.scope === 'institution';
};

/**
 * Decides what a doorbell for `notice` means at `now`: SQS delivers at least once, and sometimes early.
 * `pauseOver`: the institution's sending is not paused now, so a notice held for a pause goes at once.
 */
export const onDoorbell = (notice: Notice, now: Date, pauseOver = false): DoorbellDecision => {
  if (notice.reportPending || isFinal(notice.status)) return { action: 'skip', reason: notice.reportPending ? 'report-pending' : 'final' };
  if (notice.status === 'sending' && notice.leaseExpiresAt && at(notice.leaseExpiresAt) > now) return { action: 'skip', reason: 'leased' };
  // Its sender died after SES took the message and reported on it: the sweep ends it, nobody sends it again.
  if (notice.reportedBySes) return { action: 'skip', reason: 'reported-by-ses' };
  if (now >= at(notice.giveUpAt)) return { action: 'give-up' };
  // SQS delays are whole seconds; a doorbell up to a second early is on time.
  const early = notice.nextAttemptAt !== undefined && at(notice.nextAttemptAt).getTime() > now.getTime() + 1000;
  if (early && !(pauseOver && heldForPause(notice))) return { action: 'wait', until: at(notice.nextAttemptAt as string) };
  return { action: 'send' };
};

/**
 * Takes the `sending` lease. While it lasts no other sender touches the notice; if this sender dies,
 * the lease expires at `leaseExpiresAt` and the sweep makes the notice due again.
 *
 * The sweep's time is left where the doorbell put it when that is at most one doorbell grace away: the
 * sweep then finds a crashed sender's notice at most a grace after the lease began (one that is still
 * sending, it looks at again when the lease ends), and the due index's entry, which costs two index
 * writes each time it moves, stays put for the attempt. A sweep time already past or further off is
 * moved to the lease's end, so a crash is never noticed later than that.
 */
export const takeLease = (notice: Notice, now: Date, token: string, settings: Pick<LifecycleSettings, 'leaseSeconds'>): Transition => {
  const leaseExpiresAt = addSeconds(now, settings.leaseSeconds);
  const sweepAtKept = notice.sweepAt !== undefined && at(notice.sweepAt) > now && at(notice.sweepAt) <= addSeconds(now, doorbellGraceSeconds(settings));
  return {
    id: notice.id,
    expectVersion: notice.version,
    set: { status: 'sending', leaseExpiresAt: iso(leaseExpiresAt), leaseToken: token, updatedAt: iso(now), ...(sweepAtKept ? {} : { sweepAt: iso(leaseExpiresAt) }) },
    remove: ['nextAttemptAt', 'sweepRings'],
    // Taking over a lapsed lease: the previous sender's attempt has no recorded outcome.
    append: notice.status === 'sending' ? [leaseExpiredEntry(notice, now, 'sending')] : undefined,
  };
};

/** The copies a relay took in an attempt that failed for the patron, added to those taken before. */
const copiesSentAfter = (notice: Notice, error: DeliveryError): Pick<Notice, 'copiesSent'> => {
  const accepted = error.facts.copiesAccepted ?? [];
  if (accepted.length === 0) return {};
  return { copiesSent: [...new Set([...(notice.copiesSent ?? []), ...accepted.map((address) => address.toLowerCase())])] };
};

/**
 * Records an attempt of a leased notice (see planAttempt), with the webhook event its outcome causes.
 */
export const afterAttempt = (notice: Notice, result: AttemptResult, now: Date, ctx: LifecycleContext): Plan => announced(planAttempt(notice, result, now, ctx), notice, now, ctx);

/**
 * Puts a leased notice back to wait (see planDefer), or ends it as SES reported meanwhile, with that event.
 */
export const defer = (notice: Notice, until: Date, now: Date, ctx: LifecycleContext, reason: string, reserved = false, code?: string): Plan =>
  announced(planDefer(notice, until, now, ctx, reason, reserved, code), notice, now, ctx);

/**
 * Records an attempt of a leased notice: `sent`; `retrying` at the policy's next time, or waiting
 * for its give-up time when no attempt fits before it; `failed` on a permanent refusal.
 */
const planAttempt = (notice: Notice, result: AttemptResult, now: Date, ctx: LifecycleContext): Plan => {
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
    // The give-up time passed during the attempt: discarded now, and the attempt counted only if it was the notice's own failure.
    return finish(notice, 'discarded', now, ctx, [attemptEntry(result, 'discarded', now), discardEntry(notice, now, settings)], !result.heldUntil);
  }
  if (result.heldUntil) {
    // Not the notice's failure: it waits for the institution's next probe, keeps its give-up time, and counts no attempt.
    const held = planDefer(notice, result.heldUntil, now, ctx, '', false);
    return { ...held, transition: { ...held.transition, set: { ...held.transition.set, ...copiesSentAfter(notice, result.error) }, append: [attemptEntry(result, pendingStatus(notice), now)] } };
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
 * limit or the institution's paused sending held it back. With `reserved`, `until` is a send slot kept
 * for it; `code` is the catalogue's code of what paused the sending. The same deferral again (a pause
 * that lasts) adds nothing to the history.
 */
const planDefer = (notice: Notice, until: Date, now: Date, ctx: LifecycleContext, reason: string, reserved: boolean, code?: string): Plan => {
  const { settings } = ctx;
  // SES reported on an earlier copy meanwhile: nothing is left to wait for.
  if (notice.reportedBySes) return settleBySes(notice, notice.reportedBySes, now, ctx, []);
  const status = pendingStatus(notice);
  const last = notice.attempts.at(-1);
  const again = last?.outcome === 'deferred' && last.message === reason && last.code === code && last.status === status;
  const append = again ? [] : [dropUndefined({ at: iso(now), outcome: 'deferred' as const, status, code, message: reason })];
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
 * Ends a notice as failed or discarded. A notice (not a report) then owes one return-to-sender report.
 */
const finish = (notice: Notice, status: 'failed' | 'discarded', now: Date, ctx: LifecycleContext, append: HistoryEntry[], countAttempt = false): Plan => {
  const owed = reportOwed(notice, status, ctx.settings);
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
        ...(owed ? owesReport(now, ctx) : {}),
      },
      remove: [...spent, 'nextAttemptAt', ...(owed ? [] : (['sweepAt'] as Array<keyof Notice>))],
    },
    reportOwed: owed,
  };
};

/** Gives a notice up at its `giveUpAt`: `discarded`, with the reason in its history. */
export const discard = (notice: Notice, now: Date, ctx: LifecycleContext): Plan => announced(finish(notice, 'discarded', now, ctx, [discardEntry(notice, now, ctx.settings)]), notice, now, ctx);

/** What the sweep does with a notice it found due (see planSweep), with the webhook event a change causes. */
export const sweepAction = (notice: Notice, now: Date, ctx: LifecycleContext): SweepAction => {
  const action = planSweep(notice, now, ctx);
  return action.kind === 'plan' ? { kind: 'plan', plan: announced(action.plan, notice, now, ctx) } : action;
};

/** What the sweep does with a notice it found due. */
export type SweepAction = { kind: 'none' } | { kind: 'plan'; plan: Plan } | { kind: 'create-report' } | { kind: 'relay-events' };

/**
 * Decides what the sweep does with a notice whose `sweepAt` has come. Every branch sets a later
 * `sweepAt` or none, so the sweep never acts twice on the same notice for the same reason.
 */
const planSweep = (notice: Notice, now: Date, ctx: LifecycleContext): SweepAction => {
  if (!notice.sweepAt || at(notice.sweepAt) > now) return { kind: 'none' };
  if (notice.reportPending) return { kind: 'create-report' };
  // Its webhook events were written but not handed on (the process stopped in between): relay them now.
  if (notice.outbox?.length) return { kind: 'relay-events' };
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

/** Why an address is on the suppression list, as the sender found it. */
export interface SuppressionFound {
  reason: string;
  since: string;
}

/**
 * Ends a waiting notice as `suppressed`, unsent: its address is on the institution's suppression list
 * (added after a hard bounce, a complaint, or by the ILS). No report per notice (./reports.ts says why).
 */
export const suppress = (notice: Notice, found: SuppressionFound, now: Date, ctx: LifecycleContext): Plan => announced({
  transition: {
    id: notice.id,
    expectVersion: notice.version,
    set: { status: 'suppressed', updatedAt: iso(now), retainUntil: retainUntil(now, ctx.settings) },
    remove: [...spent, 'nextAttemptAt', 'sweepAt', 'sweepRings'],
    append: [{ at: iso(now), outcome: 'suppressed', status: 'suppressed', message: `not sent: the address is on the suppression list since ${found.since} (${found.reason})` }],
  },
}, notice, now, ctx);

/** Who acts on a notice besides the pipeline: the ILS through the API, or library staff in the console. */
export type Actor = 'ils' | 'console';

/** Cancels a notice not yet sent (DELETE, or the console). `undefined` means it is already cancelled: nothing to do. */
export const cancel = (
  notice: Notice,
  now: Date,
  settings: LifecycleSettings,
  by: Actor = 'ils',
  events?: Pick<LifecycleContext, 'subscriptions' | 'newId'>,
): Transition | undefined => {
  if (notice.status === 'cancelled') return undefined;
  if (!PENDING_STATUSES.has(notice.status)) {
    throw new ConflictError(
      notice.status === 'sending' ? 'The notice is being sent right now and can no longer be cancelled.' : `The notice is already ${notice.status} and can no longer be cancelled.`,
      'not_cancellable',
    );
  }
  const transition: Transition = {
    id: notice.id,
    expectVersion: notice.version,
    set: { status: 'cancelled', updatedAt: iso(now), retainUntil: retainUntil(now, settings) },
    remove: ['nextAttemptAt', 'sweepAt'],
    append: [{ at: iso(now), outcome: 'cancelled', status: 'cancelled', message: by === 'console' ? 'cancelled from the console before it was sent' : 'cancelled by the ILS before it was sent' }],
  };
  return events ? announce(transition, notice, now, { ...events, settings }) : transition;
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
