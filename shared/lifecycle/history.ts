// What a notice's history says (DESIGN.md §2: every transition appends to it): one entry per attempt with
// the transport's facts (server, reply code, enhanced status, error code, the reply shortened), and the
// entries for a lapsed lease and a discard. It reads the facts the transport and the classifier gave;
// it parses no reply text.
import type { DeliveryError } from '../errors';
import type { HistoryEntry, Notice, NoticeStatus } from '../notice/model';
import { dropUndefined, iso, type LifecycleSettings } from './plan';

/** Longest history message kept: a server reply is evidence, not a transcript. */
const MAX_HISTORY_MESSAGE = 300;

export const shorten = (text: string | undefined): string | undefined =>
  text === undefined ? undefined : text.length > MAX_HISTORY_MESSAGE ? `${text.slice(0, MAX_HISTORY_MESSAGE - 1)}…` : text;

/** The outcome of one attempt, as the transport reported it. */
export type AttemptResult =
  | { ok: true; transport: 'smtp' | 'ses'; server: string; messageId: string; response?: string; responseCode?: number; enhancedStatus?: string; startedAt: Date }
  /** `heldUntil`: the institution's own setup refused it, and its sending is paused until then (shared/transport/pause.ts). */
  | { ok: false; error: DeliveryError; startedAt: Date; heldUntil?: Date };

/** The entry for one attempt's outcome, as the notice reaches `status`. */
export const attemptEntry = (result: AttemptResult, status: NoticeStatus, now: Date): HistoryEntry =>
  dropUndefined(
    result.ok
      ? {
          at: iso(now),
          startedAt: iso(result.startedAt),
          outcome: 'sent' as const,
          status,
          transport: result.transport,
          server: result.server,
          // An SMTP server's acceptance has a reply code like its refusals (the transport read it); SES answers with a message id.
          responseCode: result.responseCode,
          enhancedStatus: result.enhancedStatus,
          message: shorten(result.response),
        }
      : {
          at: iso(now),
          startedAt: iso(result.startedAt),
          outcome: result.error.verdict,
          status,
          transport: result.error.facts.transport,
          server: result.error.facts.server,
          responseCode: result.error.facts.responseCode,
          enhancedStatus: result.error.facts.enhancedStatus,
          code: result.error.facts.code,
          message: shorten(result.error.message),
        },
  );

/** The entry for a lease that lapsed: the sender that held it recorded no outcome. */
export const leaseExpiredEntry = (notice: Notice, now: Date, status: NoticeStatus): HistoryEntry => ({
  at: iso(now),
  outcome: 'lease-expired',
  status,
  message: `the sender that took this notice at ${notice.updatedAt} recorded no outcome before its lease expired`,
});

/** The entry for a notice given up at its give-up time: expired, or not delivered within `maxAgeSeconds`. */
export const discardEntry = (notice: Notice, now: Date, settings: LifecycleSettings): HistoryEntry => {
  const expired = notice.expiresAt !== undefined && notice.expiresAt <= notice.giveUpAt;
  return {
    at: iso(now),
    outcome: 'discarded',
    status: 'discarded',
    message: expired
      ? `expired at ${notice.expiresAt} before it could be delivered`
      : `not delivered within ${formatDuration(settings.retry.maxAgeSeconds)} of becoming due`,
  };
};

const formatDuration = (seconds: number): string =>
  seconds % 3600 === 0 ? `${seconds / 3600} hours` : seconds % 60 === 0 ? `${seconds / 60} minutes` : `${seconds} seconds`;
