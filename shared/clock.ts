// Time and randomness come in from outside so that the domain stays deterministic under test.

/** Tells the time. Production uses the system clock; tests move a fake one. */
export interface Clock {
  now(): Date;
}

/** A uniform random number in [0, 1), like Math.random. */
export type Random = () => number;

export const systemClock: Clock = { now: () => new Date() };

export const toEpochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export const addSeconds = (date: Date, seconds: number): Date => new Date(date.getTime() + seconds * 1000);

/** A whole number of seconds from `from` to `to`, rounded up, never negative. */
export const secondsUntil = (to: Date, from: Date): number => Math.max(0, Math.ceil((to.getTime() - from.getTime()) / 1000));
