// When the institution's own setup refuses mail, its sending pauses (docs/it/mail-systems.md, When sending pauses). Pure
// decisions on the shared transport state (records.ts), made by every sender alike:
//
//   sending ──institution-scope outcome──▶ paused (since, code, reply, nextProbeAt)
//      ▲                                     │ at nextProbeAt one sender takes the probe (a compare-and-set)
//      │                                     ▼
//      └──── the probe, or any send, works ── probing ── it fails again: backoff doubles, up to the long delay
//
// Sending that resumes before the probe time (a Test Server run that works, say) leaves `resumed` for the
// sweep, which rings the notices held for that probe at once instead of at the time they were given.
//
// A relay that asked to slow down (throttling) or a spent quota is only waited out: at nextProbeAt every
// sender may send again, and the first outcome decides as a probe's would.
// While paused, no notice is sent but the probe: held notices keep their place and their give-up time and
// count no attempt, and an institution whose login was refused tries one login per probe. Any other
// outcome of the probe (a patron's address refused, say) shows that the setup works again: sending resumes.
// A stall (notices waiting and none getting through, for alerts.stalledAfterMinutes) is counted from
// `firstUnsentAt`, which the first outcome that leaves a notice waiting (held by the pause, or to be tried
// again for a reason other than one patron's address) sets, and any send clears. A refusal for good leaves
// nothing waiting: it never starts the count, and it ends the count the same notice started. The sweep
// tells of a stall once when it begins and once when it ends.
import { addSeconds } from '../clock';
import type { DeliveryError } from '../errors';
import { withoutAddresses } from '../privacy';
import { type Outcome, outcomeOf, refusalSignature, SAME_REFUSAL_LIMIT } from './classify';
import type { Pause, Resumption, TransportChange, TransportField, TransportState } from './records';

/** The delays of the backoff, from the retry policy: its short and long retry delays' lower bounds. */
export interface PauseTiming {
  shortSeconds: number;
  longSeconds: number;
}

export const pauseTiming = (retry: { shortDelaySeconds: readonly [number, number]; longDelaySeconds: readonly [number, number] }): PauseTiming => ({
  shortSeconds: retry.shortDelaySeconds[0],
  longSeconds: retry.longDelaySeconds[0],
});

/** A probe is never retried sooner than this, whatever the configuration's shortest delay. */
const MIN_BACKOFF_SECONDS = 1;
const iso = (date: Date): string => date.toISOString();

const initialBackoff = (outcome: Outcome, timing: PauseTiming): number =>
  Math.max(MIN_BACKOFF_SECONDS, outcome.pause === 'quota' ? timing.longSeconds : timing.shortSeconds);

/** The start of a stall's count: now, by this notice. */
const startUnsent = (now: Date, noticeId: string | undefined): Pick<TransportState, 'firstUnsentAt' | 'firstUnsentBy'> =>
  noticeId === undefined ? { firstUnsentAt: iso(now) } : { firstUnsentAt: iso(now), firstUnsentBy: noticeId };

/** What the sender does with a notice before sending it. */
export type Gate =
  | { kind: 'send' }
  /** This notice is the probe: the change takes the probe's lock. */
  | { kind: 'probe'; change: TransportChange }
  | { kind: 'hold'; until: Date; reason: string };

/** The reason a held notice's history gives: the same for every hold of one pause, so it is written once. */
export const holdReason = (pause: Pause): string => `held while the institution's sending is paused (${pause.code}: ${outcomeOf(pause.code).summary})`;

/**
 * Whether a notice may be sent now. With the institution paused: hold it until the next probe, or while
 * another sender's probe is in flight; else this notice is the probe, under a lock that lasts its lease.
 */
export const gate = (state: TransportState, now: Date, probe: { token: string; leaseSeconds: number }): Gate => {
  const { pause } = state;
  if (!pause) return { kind: 'send' };
  const nextProbeAt = new Date(pause.nextProbeAt);
  if (now < nextProbeAt) return { kind: 'hold', until: nextProbeAt, reason: holdReason(pause) };
  // A relay that asked to slow down, or a quota, is waited out, not probed: nothing is broken.
  if (waitedOut(pause, now)) return { kind: 'send' };
  if (state.probe && new Date(state.probe.until) > now) return { kind: 'hold', until: new Date(state.probe.until), reason: holdReason(pause) };
  return { kind: 'probe', change: { set: { probe: { token: probe.token, until: iso(addSeconds(now, probe.leaseSeconds)) } } } };
};

/** A pause a relay asked for (throttling, a quota) whose wait is over: every sender may send again. */
const waitedOut = (pause: Pause, now: Date): boolean => outcomeOf(pause.code).pause !== 'probe' && now >= new Date(pause.nextProbeAt);

/** Gives the probe back without a verdict: the notice it went with was not sent (a rate limit held it). */
export const releaseProbe = (state: TransportState, token: string): TransportChange | undefined =>
  state.probe?.token === token ? { remove: ['probe'] } : undefined;

/** What an attempt's outcome did to the institution's sending, for the log. */
export type PauseEvent =
  /** Sending paused (an ERROR line, or a WARN one when a relay asked to slow down). */
  | 'paused'
  /** Still paused, for another reason than before (an ERROR line). */
  | 'cause-changed'
  /** The probe failed the same way: the next one is later. */
  | 'probe-failed'
  /** Sending resumed (an INFO line). */
  | 'resumed';

export interface AttemptOutcome {
  /** The attempt's failure; undefined when the message was sent. */
  error?: DeliveryError;
  /** A digest of the patron's address, for the safety net (never the address). */
  recipientKey?: string;
  /** The probe's token when this attempt was the probe. */
  probeToken?: string;
  /** The notice the attempt was for: the one a stall's count started with, if it was that one. */
  noticeId?: string;
}

export interface Verdict {
  change?: TransportChange;
  event?: PauseEvent;
  /** The refusal was one too many of the same (EREPEATED): the institution's, not the patron's. */
  escalated?: boolean;
  /** The notice is held until then (the next probe), without counting the attempt. */
  heldUntil?: Date;
  /** The pause as it stands after the change. */
  pause?: Pause;
}

/**
 * What the sweep is to ring when the pause ends now: the notices held for its next probe, when that is
 * still to come (after it, they come back within the intake's spread of their own accord). Merged with a
 * resumption the sweep has not rung yet.
 */
const resumption = (state: TransportState, now: Date): { resumed: Resumption } | undefined => {
  const { pause } = state;
  if (!pause || now >= new Date(pause.nextProbeAt)) return undefined;
  const heldUntil = state.resumed && state.resumed.heldUntil > pause.nextProbeAt ? state.resumed.heldUntil : pause.nextProbeAt;
  return { resumed: { at: iso(now), heldUntil } };
};

/** A send worked: whatever kept sending from working is over. */
const sent = (state: TransportState, now: Date): Verdict => {
  const remove: TransportField[] = [];
  if (state.pause) remove.push('pause');
  if (state.probe) remove.push('probe');
  if (state.refusals) remove.push('refusals');
  if (state.firstUnsentAt) remove.push('firstUnsentAt');
  if (state.firstUnsentBy) remove.push('firstUnsentBy');
  const recovered = state.lastAuthFailure && !state.authRecoveredAt ? { authRecoveredAt: iso(now) } : undefined;
  const set = { ...recovered, ...resumption(state, now) };
  if (remove.length === 0 && Object.keys(set).length === 0) return {};
  return { change: { set: Object.keys(set).length ? set : undefined, remove }, event: state.pause ? 'resumed' : undefined };
};

/**
 * Whether an outcome, as the state was last seen, can change the state at all: a send with nothing to
 * clear, or one patron's address deferred, writes nothing, so the sender need not read the state afresh.
 */
export const needsRecording = (seen: TransportState, outcome: AttemptOutcome): boolean => {
  if (outcome.probeToken !== undefined) return true;
  const { error } = outcome;
  if (!error) return Boolean(seen.pause || seen.probe || seen.refusals || seen.firstUnsentAt || (seen.lastAuthFailure && !seen.authRecoveredAt));
  return !(error.scope === 'recipient' && error.verdict === 'transient');
};

/**
 * What an attempt's outcome does to the institution's sending, decided on the state read just before.
 * An institution-scope outcome pauses it, or, from the probe, backs the next probe off; any other
 * outcome of the probe resumes it; a permanent refusal extends or starts the run of identical refusals,
 * which escalates to EREPEATED at SAME_REFUSAL_LIMIT different patrons.
 */
export const afterAttempt = (state: TransportState, outcome: AttemptOutcome, now: Date, timing: PauseTiming): Verdict => {
  const { error } = outcome;
  if (!error) return sent(state, now);
  // After a wait a relay asked for, whichever sender tries first speaks for the relay, as a probe would.
  const probing = (outcome.probeToken !== undefined && state.probe?.token === outcome.probeToken) || (state.pause !== undefined && waitedOut(state.pause, now));
  const set: NonNullable<TransportChange['set']> = {};
  const remove: TransportField[] = [];

  // The safety net: the same permanent refusal for several different patrons in a row.
  const signature = refusalSignature(error);
  let escalated = false;
  if (signature && outcome.recipientKey) {
    const run = state.refusals?.signature === signature ? state.refusals.recipients : [];
    const recipients = run.includes(outcome.recipientKey) ? run : [...run, outcome.recipientKey].slice(-SAME_REFUSAL_LIMIT);
    escalated = recipients.length >= SAME_REFUSAL_LIMIT;
    set.refusals = { signature, recipients };
  } else if (error.verdict === 'permanent' && state.refusals) {
    // Another kind of refusal breaks the run.
    remove.push('refusals');
  }

  const kind: Outcome = escalated ? outcomeOf('EREPEATED') : outcomeOf(error.facts.code);
  // The probe never reached the relay (its content was gone, say): it proves nothing; another notice probes.
  if (probing && kind.local) return { change: { remove: ['probe'] } };
  if (error.scope !== 'institution' && !escalated) {
    // The relay took the login and the envelope: the setup works, whatever it thought of this message.
    if (probing) {
      remove.push('pause', 'probe');
      if (state.firstUnsentAt) remove.push('firstUnsentAt');
      if (state.firstUnsentBy) remove.push('firstUnsentBy');
      Object.assign(set, resumption(state, now));
    } else if (error.scope === 'message' && error.verdict === 'transient' && !kind.local) {
      // The notice waits to be tried again: a stall's count starts, if it has not.
      if (!state.firstUnsentAt) Object.assign(set, startUnsent(now, outcome.noticeId));
    } else if (error.verdict === 'permanent' && !state.pause && state.firstUnsentBy !== undefined && state.firstUnsentBy === outcome.noticeId) {
      // The notice the count started with is refused for good: it no longer waits. Another that still does
      // starts the count again at its next failure.
      remove.push('firstUnsentAt', 'firstUnsentBy');
    }
    return { change: { set, remove }, event: probing && state.pause ? 'resumed' : undefined };
  }

  const reply = withoutAddresses(error.message);
  const server = error.facts.server ?? error.facts.transport;
  if (kind.login) {
    set.lastAuthFailure = { at: iso(now), server, code: kind.code, message: reply };
    remove.push('authRecoveredAt');
  }
  if (!state.firstUnsentAt) Object.assign(set, startUnsent(now, outcome.noticeId));
  if (state.pause && !probing) {
    // Sent while the pause began elsewhere: held with the others until the next probe.
    return { change: { set, remove }, escalated, heldUntil: new Date(state.pause.nextProbeAt), pause: state.pause };
  }
  const backoffSeconds = state.pause
    ? Math.min(Math.max(state.pause.backoffSeconds * 2, initialBackoff(kind, timing)), Math.max(timing.longSeconds, MIN_BACKOFF_SECONDS))
    : initialBackoff(kind, timing);
  const nextProbeAt = addSeconds(now, backoffSeconds);
  const pause: Pause = {
    since: state.pause?.since ?? iso(now),
    code: kind.code,
    reply,
    server,
    nextProbeAt: iso(nextProbeAt),
    backoffSeconds,
    probes: state.pause ? state.pause.probes + 1 : 0,
  };
  set.pause = pause;
  if (state.probe) remove.push('probe');
  const event: PauseEvent = !state.pause ? 'paused' : state.pause.code !== kind.code ? 'cause-changed' : 'probe-failed';
  return { change: { set, remove }, event, escalated, heldUntil: nextProbeAt, pause };
};

/**
 * A Test Server run whose first server (or SES) took the message: the setup works, so a pause ends at
 * once, and so does a stall's count.
 */
export const afterTestSent = (state: TransportState, now: Date): Verdict => sent(state, now);

/** What the sweep does about a stall: tell of it once when it begins, once when it ends. */
export interface StallVerdict {
  change?: TransportChange;
  event?: 'stalled' | 'recovered';
  /** Since when notices have waited with none getting through, while that lasts. */
  stalledSince?: Date;
}

/** Since when the institution's notices have waited with none getting through, if it has been `afterMinutes` or longer. */
export const stalledSince = (state: TransportState, now: Date, afterMinutes: number): Date | undefined => {
  const starts = [state.firstUnsentAt, state.pause?.since].filter((value): value is string => value !== undefined).map((value) => new Date(value).getTime());
  if (starts.length === 0) return undefined;
  const since = new Date(Math.min(...starts));
  return now.getTime() - since.getTime() >= afterMinutes * 60_000 ? since : undefined;
};

/** The sweep's decision on an institution's stall. */
export const checkStall = (state: TransportState, now: Date, afterMinutes: number): StallVerdict => {
  const since = stalledSince(state, now, afterMinutes);
  if (since && !state.stall) return { change: { set: { stall: { since: iso(since), noticedAt: iso(now) } } }, event: 'stalled', stalledSince: since };
  if (!since && state.stall) return { change: { remove: ['stall'] }, event: 'recovered' };
  return { stalledSince: since };
};
