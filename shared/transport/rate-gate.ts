// Rate limits of an institution's transport (README: How delivery works): `maxPerMinute` and `maxPerDay`, honoured by
// every sender at once. The limits are decided here; the state lives in the institution's transport state
// (records.ts), shared by all senders, which the store (shared/store/dynamo-transport-state.ts) only reads
// and writes with a compare-and-set.
//
// Sends are spaced evenly: each takes the next free slot, `60 s / maxPerMinute` (and a margin) after the
// one before, so no 60-second window holds more than maxPerMinute. A notice whose slot is later keeps it
// (the reservation is recorded on the notice) and comes back then, without counting a failed attempt.
// One that comes back long after its slot (a lost doorbell rung again by the sweep) sends without a new
// one: giving it the next free slot would push every late notice behind the whole backlog, again and again.
import { changeState, type TransportStates } from './records';

/** Limits of one transport. */
export interface RateLimits {
  maxPerMinute?: number;
  maxPerDay?: number;
}

/** What the transport state keeps for the limits. */
export interface RateState {
  /** The earliest time the next slot may be taken (epoch ms). */
  nextSlotAt: number;
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
export const nextSlot = (state: RateState, limits: RateLimits, now: Date, recipients = 1): { slot: Slot; next: RateState } => {
  let at = Math.max(now.getTime(), state.nextSlotAt);
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
  };
  return { slot: { at: new Date(at), reason }, next };
};

/**
 * Takes the next slot for the institution (now or later) for a message to `recipients` addresses
 * (maxPerDay counts recipients, as Microsoft 365's daily limit does), with a compare-and-set on the
 * institution's transport state; throws only if the store fails.
 * @example
 * const slot = await reserveSlot(states, 'demo', { maxPerMinute: 30 }, now);
 */
export const reserveSlot = async (states: TransportStates, institutionId: string, limits: RateLimits, now: Date, recipients = 1): Promise<Slot> => {
  const { result } = await changeState(states, institutionId, (state) => {
    const { slot, next } = nextSlot({ nextSlotAt: state.nextSlotAt ?? 0, day: state.day, dayCount: state.dayCount ?? 0 }, limits, now, recipients);
    return { change: { set: { nextSlotAt: next.nextSlotAt, day: next.day, dayCount: next.dayCount } }, result: slot };
  });
  return result;
};
