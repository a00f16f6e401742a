// When to try again (docs/contributing/notice-flow.md). Pure: the time and the random source come in, so every branch
// is testable with a fixed clock and `() => 0`.
//
//   accepted            short range ends                                  giveUpAt
//   |── 3–9 min gaps ──────|── 60–90 min gaps ─────────────── … ──────────────|
//   an attempt whose next try would fall at or past giveUpAt waits for it, then the notice is discarded
import type { Random } from '../clock';
import { addSeconds } from '../clock';

/** The `retry` block of the configuration. */
export interface RetryPolicy {
  shortRangeSeconds: number;
  shortDelaySeconds: readonly [number, number];
  longDelaySeconds: readonly [number, number];
  maxAgeSeconds: number;
}

export type NextAttempt = { kind: 'retry'; at: Date } | { kind: 'give-up'; at: Date };

/** A whole number of seconds in [min, max], uniformly. */
export const randomSeconds = ([min, max]: readonly [number, number], random: Random): number => min + Math.floor(random() * (max - min + 1));

/**
 * When a notice is given up: at its `expiresAt`, or `maxAgeSeconds` after it became due (its `sendAt`,
 * or acceptance when it has none), whichever is first.
 */
export const giveUpTime = (times: { createdAt: Date; sendAt?: Date; expiresAt?: Date }, maxAgeSeconds: number): Date => {
  const dueFrom = times.sendAt && times.sendAt > times.createdAt ? times.sendAt : times.createdAt;
  const byAge = addSeconds(dueFrom, maxAgeSeconds);
  return times.expiresAt && times.expiresAt < byAge ? times.expiresAt : byAge;
};

/**
 * The first attempt's time: the notice's `sendAt` (or now), plus a jitter of 0–`spreadSeconds` so that a
 * night's batch does not reach the relay at once.
 */
export const firstAttemptTime = (now: Date, spreadSeconds: number, random: Random, sendAt?: Date): Date =>
  addSeconds(sendAt && sendAt > now ? sendAt : now, randomSeconds([0, spreadSeconds], random));

/**
 * The time of the next attempt after a transient failure at `now`, or the time to give up.
 * @example
 * nextAttempt({ dueFrom, giveUpAt }, clock.now(), config.retry, Math.random)
 * // → { kind: 'retry', at: <now + 3…9 min> } while the notice is younger than the short range
 */
export const nextAttempt = (notice: { dueFrom: Date; giveUpAt: Date }, now: Date, policy: RetryPolicy, random: Random): NextAttempt => {
  const ageSeconds = (now.getTime() - notice.dueFrom.getTime()) / 1000;
  const range = ageSeconds < policy.shortRangeSeconds ? policy.shortDelaySeconds : policy.longDelaySeconds;
  const at = addSeconds(now, randomSeconds(range, random));
  return at < notice.giveUpAt ? { kind: 'retry', at } : { kind: 'give-up', at: notice.giveUpAt };
};
