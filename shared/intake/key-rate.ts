// The per-key request rate of the API (docs/integrator/api.md, Errors: 429 `rate_limited`): a fixed one-minute
// window per API key, counted in the store so that it holds across every intake instance.
import { RateLimitedError } from '../errors';

export interface KeyRateCounter {
  /**
   * Counts one request of `keyId` in the minute `windowStart` (epoch seconds) unless `limit` were
   * passed; false when the window is full.
   */
  count(keyId: string, windowStart: number, limit: number, expireAt: number): Promise<boolean>;
}

const WINDOW_SECONDS = 60;
/** Counters outlive their window a little, for the clocks of other instances. */
const KEEP_SECONDS = 120;

/**
 * Admits one request of the key, or throws RateLimitedError with the seconds until its window ends.
 * `keyId` is the key's SHA-256 digest, never the key.
 */
export const admitRequest = async (counter: KeyRateCounter, keyId: string, limitPerMinute: number, now: Date): Promise<void> => {
  const nowSeconds = now.getTime() / 1000;
  const windowStart = Math.floor(nowSeconds / WINDOW_SECONDS) * WINDOW_SECONDS;
  const admitted = await counter.count(keyId, windowStart, limitPerMinute, windowStart + WINDOW_SECONDS + KEEP_SECONDS);
  if (!admitted) {
    const retryAfterSeconds = Math.max(1, Math.ceil(windowStart + WINDOW_SECONDS - nowSeconds));
    throw new RateLimitedError(`This API key made ${limitPerMinute} requests this minute, its limit. Retry after ${retryAfterSeconds} s.`, retryAfterSeconds);
  }
};
