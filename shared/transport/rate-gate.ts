// Rate limits of an institution's transport (README: How delivery works): `maxPerMinute` and `maxPerDay`, honoured by
// every sender at once. The limits are decided here; the state lives in the institution's transport state
// (records.ts), shared by all senders, which the store (shared/store/dynamo-transport-state.ts) only reads
// and writes with a compare-and-set.
//
// Sends are spaced evenly: each takes the next free slot, `60 s / maxPerMinute` (and a margin) after the
// one before. A notice whose slot is later keeps it (the reservation is recorded on the notice) and comes
// back then, without counting a failed attempt. Slots schedule; they cannot bound a minute alone, since a
// notice comes back late on a busy sender (or by the sweep, its doorbell lost) and would then go beside
// the notices on time. So every send is also admitted against the times of the last maxPerMinute sends
// (`recentSends`), recorded when the send goes: no window of a minute and the same margin holds more. A
// late notice is admitted as soon as the window has room, not put behind the whole backlog again.
import { changeState, type TransportState, type TransportStates } from './records';

/** Limits of one transport. */
export interface RateLimits {
  maxPerMinute?: number;
  maxPerDay?: number;
}

/** What the transport state keeps for the limits. */
export interface RateState {
  /** The earliest time the next slot may be taken (epoch ms). */
  nextSlotAt: number;
  /** When the last sends (at most maxPerMinute of them) were admitted, oldest first (epoch ms). */
  recentSends?: number[];
  /** UTC day (YYYY-MM-DD) that `dayCount` counts recipients of. */
  day?: string;
  dayCount: number;
}

/** A slot, or the time to come back. */
export interface Slot {
  at: Date;
  /** Why the slot is later than asked, for the notice's history. */
  reason?: string;
}

/**
 * The spacing of sends for `maxPerMinute`, with 5 % to spare: the relay sees a message a little after
 * its slot begins, later on a busy sender, so slots exactly 60/N s apart could put N+1 in a minute when
 * one message is late and the one N slots on is not. 5 % lets a message come 3 s late; one over the
 * limit costs far more (Microsoft 365 throttles the mailbox and every sender waits).
 */
export const slotSpacingMs = (maxPerMinute: number): number => Math.ceil((60_000 / maxPerMinute) * 1.05);

/**
 * The window the last maxPerMinute sends are counted over: a minute and the slots' 5 % margin, so that a
 * message reaching the relay up to 3 s after it was admitted still falls in the window it was counted in.
 * Evenly spaced slots (`slotSpacingMs`) always fit: maxPerMinute of them span at least this long.
 */
export const ADMISSION_WINDOW_MS = 63_000;

/** The earliest time at or after `at` when one more send keeps every admission window within maxPerMinute. */
export const admissionAt = (recentSends: readonly number[], maxPerMinute: number, at: number): number => {
  const inWindow = recentSends.filter((sent) => sent > at - ADMISSION_WINDOW_MS);
  return inWindow.length < maxPerMinute ? at : (inWindow[inWindow.length - maxPerMinute] as number) + ADMISSION_WINDOW_MS;
};

/** The sends to remember after one admitted at `at`: the last maxPerMinute, oldest first. */
const withSend = (recentSends: readonly number[], maxPerMinute: number, at: number): number[] => [...recentSends, at].sort((a, b) => a - b).slice(-maxPerMinute);

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const nextUtcMidnight = (ms: number): number => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
};

/**
 * The slot a reservation for a message to `recipients` addresses takes from `state` at `now`, and the
 * state after it. Pure.
 * @example
 * const { slot, next } = nextSlot(state, { maxPerMinute: 30 }, now);
 */
export const nextSlot = (state: RateState, limits: RateLimits, now: Date, recipients = 1, sendWithinMs = 0): { slot: Slot; next: RateState } => {
  const recent = state.recentSends ?? [];
  let at = Math.max(now.getTime(), state.nextSlotAt);
  if (limits.maxPerMinute) at = admissionAt(recent, limits.maxPerMinute, at);
  let reason = limits.maxPerMinute && at > now.getTime() ? `held back by maxPerMinute (${limits.maxPerMinute})` : undefined;
  let day = utcDay(at);
  let count = state.day === day ? state.dayCount : 0;
  // A day with nothing sent yet takes any message, so one with more recipients than the limit still goes.
  if (limits.maxPerDay && count > 0 && count + recipients > limits.maxPerDay) {
    // Slots only move forward, so `state.day` is the last day with any: the next day has room.
    at = nextUtcMidnight(at);
    day = utcDay(at);
    count = 0;
    reason = `held back by maxPerDay (${limits.maxPerDay}) until ${new Date(at).toISOString()}`;
  }
  const next: RateState = {
    ...state,
    // Never behind the slot just given: a message moved to the next day must keep later ones there too.
    nextSlotAt: at + (limits.maxPerMinute ? slotSpacingMs(limits.maxPerMinute) : 0),
    day,
    dayCount: count + recipients,
    // A slot the sender sends in now (waiting at most `sendWithinMs`) is admitted with it.
    ...(limits.maxPerMinute && at <= now.getTime() + sendWithinMs ? { recentSends: withSend(recent, limits.maxPerMinute, at) } : {}),
  };
  return { slot: { at: new Date(at), reason }, next };
};

/**
 * When a notice coming back to its reserved slot (`reservedAt`) may go: its slot, or later when the
 * sends admitted since would put one over maxPerMinute. Admitted (and recorded) when that is within
 * `sendWithinMs` of `now`. Pure.
 */
export const admitReserved = (state: RateState, maxPerMinute: number, reservedAt: Date, now: Date, sendWithinMs: number): { at: Date; admitted: boolean; next?: RateState } => {
  const recent = state.recentSends ?? [];
  const at = admissionAt(recent, maxPerMinute, Math.max(reservedAt.getTime(), now.getTime()));
  if (at > now.getTime() + sendWithinMs) return { at: new Date(at), admitted: false };
  return { at: new Date(at), admitted: true, next: { ...state, recentSends: withSend(recent, maxPerMinute, at) } };
};

/**
 * Takes the next slot for the institution (now or later) for a message to `recipients` addresses
 * (maxPerDay counts recipients, as Microsoft 365's daily limit does), with a compare-and-set on the
 * institution's transport state; throws only if the store fails.
 * @example
 * const slot = await reserveSlot(states, 'demo', { maxPerMinute: 30 }, now);
 */
export const reserveSlot = async (states: TransportStates, institutionId: string, limits: RateLimits, now: Date, recipients = 1, sendWithinMs = 0): Promise<Slot> => {
  const { result } = await changeState(states, institutionId, (state) => {
    const { slot, next } = nextSlot(rateStateOf(state), limits, now, recipients, sendWithinMs);
    return { change: { set: { nextSlotAt: next.nextSlotAt, day: next.day, dayCount: next.dayCount, recentSends: next.recentSends } }, result: slot };
  });
  return result;
};

/**
 * Admits a notice coming back to its reserved slot, with a compare-and-set on the institution's
 * transport state: when it may go, and whether that is now (within `sendWithinMs`, then recorded).
 * @example
 * const { at, admitted } = await admitReservedSend(states, 'demo', 30, reservedAt, now, 1000);
 */
export const admitReservedSend = async (
  states: TransportStates,
  institutionId: string,
  maxPerMinute: number,
  reservedAt: Date,
  now: Date,
  sendWithinMs: number,
): Promise<{ at: Date; admitted: boolean }> => {
  const { result } = await changeState(states, institutionId, (state) => {
    const { at, admitted, next } = admitReserved(rateStateOf(state), maxPerMinute, reservedAt, now, sendWithinMs);
    return { change: next ? { set: { recentSends: next.recentSends } } : undefined, result: { at, admitted } };
  });
  return result;
};

const rateStateOf = (state: TransportState): RateState => ({ nextSlotAt: state.nextSlotAt ?? 0, day: state.day, dayCount: state.dayCount ?? 0, recentSends: state.recentSends });
