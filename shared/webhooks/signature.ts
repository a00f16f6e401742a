// The webhook signature (docs/integrator/webhooks.md), as Stripe signs its events: `Notice-Relay-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the receiver's secret. The time inside the
// signed text lets a receiver refuse a replay older than its tolerance.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Notice-Relay-Signature';
/** How old a signed time a receiver accepts by default: five minutes, as Stripe's libraries do. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, timestamp: number, body: string): string => createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');

/**
 * The header value for `body` signed at `timestamp` (unix seconds).
 * @example
 * signatureHeader('whsec-…', 1767225600, '{"id":"…"}') // "t=1767225600,v1=5f0c…"
 */
export const signatureHeader = (secret: string, timestamp: number, body: string): string => `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;

/**
 * Whether `header` signs `body` with `secret`, at a time within `toleranceSeconds` of `nowSeconds`: what a
 * receiver does (docs/integrator/webhooks.md, Verifying the signature: the same in a few lines). Any `v1` may match, so a secret can be rotated.
 */
export const verifySignature = (secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): boolean => {
  const parts = header.split(',').map((part) => part.trim().split('='));
  const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return parts.some(([key, value]) => key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value) && timingSafeEqual(Buffer.from(value, 'hex'), expected));
};
