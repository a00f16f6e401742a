// The last reply about a notice: what the patron's mail server, the library's relay or Amazon SES last said
// about it. One rule for every place that shows it: the webhook events (shared/lifecycle/events.ts), the
// daily digest (shared/digest/render.ts) and the return-to-sender report (shared/mime/return-to-sender.ts).
//
// - SES's verdict outranks any attempt: SES reports only on a message it took, and it may report before the
//   sender records that it took it. A verdict is the history's `delivered`, `bounced` or `complained` entry,
//   which carries the event's details (a bounce's type and diagnostic, a complaint's type). An SES event that
//   gave no verdict (a soft bounce, a copy's bounce, a delivery delay) is not the notice's last reply.
// - Else the last attempt that a server answered (`sent`, `transient`, `permanent`).
// - Notice Relay's own entries (held back, interrupted, given up, cancelled, suppressed, sent again) are
//   not replies: the status and its reason say them.
import type { HistoryEntry, HistoryOutcome } from './model';

/** What was said, by whom, and its RFC 3463 status when it had one. */
export type LastReply = Pick<HistoryEntry, 'at' | 'transport' | 'server' | 'enhancedStatus'> & { message: string };

const SES_VERDICTS: ReadonlySet<HistoryOutcome> = new Set(['delivered', 'bounced', 'complained']);
const ANSWERED_ATTEMPTS: ReadonlySet<HistoryOutcome> = new Set(['sent', 'transient', 'permanent']);

const lastOf = (attempts: readonly HistoryEntry[], outcomes: ReadonlySet<HistoryOutcome>): HistoryEntry | undefined =>
  [...attempts].reverse().find((entry) => outcomes.has(entry.outcome) && entry.message !== undefined && entry.message !== '');

/**
 * The last reply in a notice's history, if any server or SES said anything.
 * @example
 * lastReply(notice)?.message // "550 5.1.1 <patron@example.org>: Recipient address rejected"
 */
export const lastReply = (history: { attempts: readonly HistoryEntry[] }): LastReply | undefined => {
  const entry = lastOf(history.attempts, SES_VERDICTS) ?? lastOf(history.attempts, ANSWERED_ATTEMPTS);
  if (!entry) return undefined;
  const { at, transport, server, enhancedStatus } = entry;
  return { at, message: entry.message as string, ...(transport ? { transport } : {}), ...(server ? { server } : {}), ...(enhancedStatus ? { enhancedStatus } : {}) };
};
