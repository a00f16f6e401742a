// Posts one event to one receiver (docs/integrator/webhooks.md): signed, with a deadline, its outcome recorded; on a
// non-2xx answer or no answer, tried again after a jittered backoff for up to 24 hours (`retry.webhooks`).
// A wait longer than SQS's 15-minute delay is made of several: a message that comes before its `dueAt` is
// sent on again with the rest of the wait.
//
// try:     1    2    3    4    5     6     7     8      9      10     11 …   (each wait between half and all of it)
// after:   0    30s  1m   2m   4m    8m    16m   32m    64m    2h8m   4h16m, then every 6 h, up to 24 h
import { addSeconds, type Clock, type Random, secondsUntil, toEpochSeconds } from '../clock';
import type { InstitutionConfig, WebhookRetryConfig } from '../config/schema';
import type { Log } from '../log';
import type { WebhookMessage, WebhookQueue } from '../queue/webhook-queue';
import { type SecretSource, webhookSecretFor } from '../secrets';
import type { WebhookStore, WebhookTry } from '../store/webhook-store';
import { receiverId } from './receiver';
import { SIGNATURE_HEADER, signatureHeader } from './signature';

const SQS_MAX_DELAY_SECONDS = 900;

/** The receiver's answer, or why there was none. */
export type PostOutcome = { statusCode: number } | { error: 'timeout' | 'refused' | 'private-address' | 'network' | 'tls' | 'no-secret' | 'secret-by-position' };

/** Posts a body to a URL within a deadline; never throws for the receiver's failures, only says what they were. */
export interface WebhookPoster {
  post(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; allowPrivateNetwork: boolean }): Promise<PostOutcome>;
}

export interface WebhookDeliveryDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  secrets: SecretSource;
  poster: WebhookPoster;
  deliveries: WebhookStore;
  webhookQueue: WebhookQueue;
  clock: Clock;
  random: Random;
  log: Log;
  /** On AWS a receiver on a private or link-local address is refused unless its entry allows it; npm start allows all. */
  privateTargets: 'allow' | 'refuse-unless-allowed';
  /** `retry.webhooks`. */
  retry: WebhookRetryConfig;
}

/**
 * The wait before try `tries + 1` (tries ≥ 1): doubling from the first delay up to the longest, each between
 * half and all of it ("equal jitter"), so receivers that failed together are not all tried again together.
 */
export const retryDelaySeconds = (tries: number, retry: WebhookRetryConfig, random: Random): number => {
  const base = Math.min(retry.longestDelaySeconds, retry.firstDelaySeconds * 2 ** Math.max(0, tries - 1));
  return Math.max(1, Math.ceil(base / 2 + (random() * base) / 2));
};

export type WebhookResult = 'delivered' | 'retrying' | 'failed' | 'waiting' | 'dropped';

/** What IT reads in the log when a receiver's events cannot be signed, and what to do. */
const MISSING_SECRET_LOG = {
  'no-secret': "webhook has no signing secret: add {\"url\": <the receiver's url>, \"secret\": …} to webhooks in the institution's secret (npx notice-relay secret-template)",
  'secret-by-position':
    "webhook signing secrets are listed by position in the institution's secret, which cannot say whose each is: give each entry its receiver's url, {\"webhooks\": [{\"url\": …, \"secret\": …}]} (npx notice-relay secret-template)",
} as const;

/**
 * Handles one message of the webhook queue: waits on if it came early, posts the event, records the try,
 * and sends the next try on after its backoff. Throws only when the store or queue fails (SQS tries again).
 * @example
 * await deliverWebhook(deps, parseWebhookMessage(record.body));
 */
export const deliverWebhook = async (deps: WebhookDeliveryDeps, message: WebhookMessage): Promise<WebhookResult> => {
  const now = deps.clock.now();
  if (message.dueAt && new Date(message.dueAt).getTime() > now.getTime() + 1000) {
    await deps.webhookQueue.send([{ message, delaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, secondsUntil(new Date(message.dueAt), now)) }]);
    return 'waiting';
  }
  const institution = deps.institutions.get(message.institutionId);
  const hook = institution?.webhooks.find((each) => receiverId(each.url) === message.receiver);
  if (!institution || !hook || !hook.events.includes(message.event.type)) {
    // The receiver left the configuration (or stopped listening to this event) since the event was written.
    deps.log.info('webhook receiver no longer configured; event dropped', { eventId: message.event.id, noticeId: message.event.notice.id });
    return 'dropped';
  }
  const body = JSON.stringify(message.event);
  const signing = webhookSecretFor(institution, hook, hook.secret ? {} : await deps.secrets.forInstitution(institution.id));
  let outcome: PostOutcome;
  if ('missing' in signing) {
    outcome = { error: signing.missing };
    deps.log.error(MISSING_SECRET_LOG[signing.missing], { institution: institution.id, eventId: message.event.id, receiver: message.receiver });
  } else {
    const { secret } = signing;
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'NoticeRelay-Webhooks/1',
      [SIGNATURE_HEADER]: signatureHeader(secret, toEpochSeconds(now), body),
      'Notice-Relay-Event-Id': message.event.id,
    };
    outcome = await deps.poster.post(hook.url, body, headers, { timeoutMs: hook.timeoutSeconds * 1000, allowPrivateNetwork: deps.privateTargets === 'allow' || hook.allowPrivateNetwork });
  }
  const after = deps.clock.now();
  const delivered = 'statusCode' in outcome && outcome.statusCode >= 200 && outcome.statusCode <= 299;
  const answer = 'statusCode' in outcome ? { statusCode: outcome.statusCode, ...(delivered ? {} : { error: `status ${outcome.statusCode}` }) } : { error: outcome.error };
  const tried: WebhookTry = { at: now.toISOString(), durationMs: Math.max(0, after.getTime() - now.getTime()), ...answer };
  const tries = message.tries + 1;
  const firstTriedAt = message.firstTriedAt ?? now.toISOString();
  const record = { institutionId: institution.id, eventId: message.event.id, eventType: message.event.type, noticeId: message.event.notice.id, url: hook.url, receiver: message.receiver, createdAt: message.event.createdAt, updatedAt: after.toISOString() };
  if (delivered) {
    await deps.deliveries.recordTry({ ...record, status: 'delivered' }, tried);
    return 'delivered';
  }
  const next = addSeconds(after, retryDelaySeconds(tries, deps.retry, deps.random));
  if (next.getTime() - new Date(firstTriedAt).getTime() > deps.retry.giveUpAfterSeconds * 1000) {
    await deps.deliveries.recordTry({ ...record, status: 'failed' }, tried);
    deps.log.warn('webhook event given up after its tries', { institution: institution.id, eventId: message.event.id, noticeId: message.event.notice.id, tries });
    return 'failed';
  }
  // The next try is queued before this one is recorded: a crash in between repeats a record, never loses a try.
  await deps.webhookQueue.send([{ message: { ...message, tries, firstTriedAt, dueAt: next.toISOString() }, delaySeconds: Math.min(SQS_MAX_DELAY_SECONDS, secondsUntil(next, after)) }]);
  await deps.deliveries.recordTry({ ...record, status: 'retrying', nextAttemptAt: next.toISOString() }, tried);
  return 'retrying';
};
