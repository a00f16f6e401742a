// Rate limits of an institution's transport (README: How delivery works): `maxPerMinute` and `maxPerDay`, honoured by
// every sender at once, and pauses a relay asks for with its throttling and quota replies. The limits are
// decided here; the state lives in the store (shared/store/dynamo-transport-state.ts), shared by all senders.
//
// Sends are spaced evenly: each takes the next free slot, `60 s / maxPerMinute` (and a margin) after the
// one before, so no 60-second window holds more than maxPerMinute. A notice whose slot is later keeps it
// (the reservation is recorded on the notice) and comes back then, without counting a failed attempt.
// One that comes back long after its slot (a lost doorbell rung again by the sweep) sends without a new
// one: giving it the next free slot would push every late notice behind the whole backlog, again and again.

/** Limits of one transport. */
export interface RateLimits {
  maxPerMinute?: number;
  maxPerDay?: number;
}

/** What the store keeps for one institution. */
export interface RateState {
  /** The earliest time the next slot may be taken (epoch ms). */
  nextSlotAt: number;
  /** UTC day (YYYY-MM-DD) that `dayCount` counts recipients of. */
  day?: string;
  dayCount: number;
  /** No sends before this (epoch ms): a relay asked to slow down or its quota ran out. */
  pausedUntil?: number;
  pauseReason?: string;
}

/** A slot, or the time to come back. */
export interface Slot {
  at: Date;
  /** Why the slot is later than asked, for the notice's history. */
  reason?: string;
}

export interface RateGate {
  /**
   * Takes the next slot for the institution (now or later) for a message to `recipients` addresses
   * (maxPerDay counts recipients, as Microsoft 365's daily limit does); throws only if the store fails.
   */
  reserve(institutionId: string, limits: RateLimits, now: Date, recipients?: number): Promise<Slot>;
  /** Makes every sender wait until `until` (a later pause wins). */
  pause(institutionId: string, until: Date, reason: string): Promise<void>;
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
  let at = Math.max(now.getTime(), state.nextSlotAt, state.pausedUntil ?? 0);
  let reason = state.pausedUntil && state.pausedUntil > now.getTime() ? `the relay asked to wait: ${state.pauseReason ?? 'throttled'}` : undefined;
  if (limits.maxPerMinute && at > now.getTime() && !reason) reason = `held back by maxPerMinute (${limits.maxPerMinute})`;
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
 * How long a relay's reply pauses the whole institution, in ms: a quota until it may have reset (the long
 * retry delay, an hour by default), throttling for the short one (3 minutes by default).
 */
export const pauseFor = (facts: { throttled?: boolean; quota?: boolean }, retry: { shortDelaySeconds: readonly [number, number]; longDelaySeconds: readonly [number, number] }): number | undefined =>
  facts.quota ? retry.longDelaySeconds[0] * 1000 : facts.throttled ? retry.shortDelaySeconds[0] * 1000 : undefined;
