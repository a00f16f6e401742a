// What happened to a notice, in words a circulation clerk understands (docs/staff/console.md). The
// verdict on an outcome, and its words, are the catalogue's (shared/transport/classify.ts): this module
// only picks the entry that applies and puts it in a sentence. Beside it, the RFC 3463 enhanced status of
// a patron's mail server's refusal (5.1.1 "no such user", 5.2.2 "mailbox full") words what the catalogue
// files as "the patron's address was refused" more precisely, and SES's bounce sub-types word its bounces.
import type { FeedbackEvent, HistoryEntry, Notice } from '../notice/model';
import { knownOutcomeOf, outcomeOf, type StaffWords, type WhoActs } from '../transport/classify';

export type { WhoActs } from '../transport/classify';

export interface Reason {
  /** One sentence: what happened. */
  summary: string;
  /** What to do about it, if anything. */
  action?: string;
  who: WhoActs;
}

/** A status as staff read it: a short label, and what it means. */
export const STATUS_WORDS: Record<string, { label: string; meaning: string }> = {
  queued: { label: 'Waiting', meaning: 'accepted, waiting for its first try' },
  sending: { label: 'Sending', meaning: 'being handed to the mail server right now' },
  retrying: { label: 'Trying again', meaning: 'a try did not work; another is scheduled' },
  sent: { label: 'Sent', meaning: "handed to the library's mail server or Amazon SES" },
  delivered: { label: 'Delivered', meaning: "the patron's mail server accepted it" },
  bounced: { label: 'Bounced', meaning: "the patron's mail server returned it" },
  complained: { label: 'Marked as spam', meaning: 'the patron reported it as spam' },
  failed: { label: 'Failed', meaning: "refused for good; it will not be tried again" },
  discarded: { label: 'Given up', meaning: 'not delivered in time; it will not be tried again' },
  cancelled: { label: 'Cancelled', meaning: 'cancelled before it was sent' },
  suppressed: { label: 'Not sent (suppressed)', meaning: 'the address is on the suppression list' },
};

/** The label of a status, the status itself when it is one this catalogue does not know yet. */
export const statusLabel = (status: string): string => STATUS_WORDS[status]?.label ?? status;

const CHECK_ADDRESS = "Check the patron's email address in the ILS, correct it, then send the notice again.";
const TELL_IT = "Tell the library's IT: the Email settings page shows the mail server's state and has a Test Server button.";

const reasonOf = (words: StaffWords, viaSes = false): Reason => ({ summary: (viaSes && words.sesSays) || words.says, ...(words.action ? { action: words.action } : {}), who: words.who });

/** The catalogue's words for a recorded code, if it can place the code. */
const codeReason = (entry: HistoryEntry): Reason | undefined => {
  const outcome = knownOutcomeOf(entry.code);
  return outcome && outcome.code !== 'EUNKNOWN' ? reasonOf(outcome.staff, entry.transport === 'ses' || entry.server === 'ses') : undefined;
};

/** RFC 3463 enhanced status codes a patron's mail server answers, by prefix (longest first). */
const ENHANCED_WORDS: Array<[string, Reason]> = [
  ['5.1.1', { summary: "The patron's email address does not exist.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.1.10', { summary: "The patron's email address does not exist.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.1.2', { summary: "The patron's email domain does not exist.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.1.3', { summary: "The patron's email address is not a valid address.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.1.', { summary: "The patron's email address was refused.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.2.1', { summary: "The patron's mailbox is disabled.", action: 'Ask the patron for another email address.', who: 'patron' }],
  ['5.2.2', { summary: "The patron's mailbox is full.", action: 'Send it again later, or reach the patron another way.', who: 'patron' }],
  ['5.2.3', { summary: "The message is too large for the patron's mailbox.", action: 'Send it without attachments, or reach the patron another way.', who: 'patron' }],
  ['5.7.', { summary: "The patron's mail server refused it as unwanted (a spam filter or a policy).", action: "Ask the patron to allow the library's address, or tell the library's IT.", who: 'patron' }],
  ['5.4.', { summary: "The patron's mail server could not be found or reached for good.", action: CHECK_ADDRESS, who: 'patron' }],
  ['5.', { summary: "The patron's mail server refused it for good.", action: CHECK_ADDRESS, who: 'patron' }],
  ['4.2.2', { summary: "The patron's mailbox is full for now.", action: 'Nothing to do: it is tried again later.', who: 'none' }],
  ['4.', { summary: "The patron's mail server asked to try again later.", action: 'Nothing to do: it is tried again later.', who: 'none' }],
];

/** SES bounce sub-types (Amazon SES Developer Guide, "Contents of event data"), as the feedback records them. */
const BOUNCE_WORDS: Record<string, Reason> = {
  NoEmail: { summary: "The patron's email address does not exist.", action: CHECK_ADDRESS, who: 'patron' },
  Suppressed: { summary: "Amazon SES did not send it: the address bounced before and is on SES's suppression list.", action: CHECK_ADDRESS, who: 'patron' },
  OnAccountSuppressionList: { summary: "Amazon SES did not send it: the address is on the account's suppression list.", action: CHECK_ADDRESS, who: 'patron' },
  MailboxFull: { summary: "The patron's mailbox is full.", action: 'Send it again later, or reach the patron another way.', who: 'patron' },
  MessageTooLarge: { summary: "The message is too large for the patron's mailbox.", action: 'Send it without attachments.', who: 'patron' },
  ContentRejected: { summary: "The patron's mail server refused its content.", action: "Tell the library's IT.", who: 'it' },
  AttachmentRejected: { summary: "The patron's mail server refused an attachment.", action: 'Send it without attachments.', who: 'patron' },
  UnsupportedAttachment: { summary: "The patron's mail server refused an attachment.", action: 'Send it without attachments.', who: 'patron' },
  General: { summary: "The patron's mail server returned it.", action: CHECK_ADDRESS, who: 'patron' },
};

const enhancedReason = (enhanced: string | undefined): Reason | undefined => {
  if (!enhanced) return undefined;
  return ENHANCED_WORDS.find(([prefix]) => (prefix.endsWith('.') ? enhanced.startsWith(prefix) : enhanced === prefix))?.[1];
};

/** What one attempt's outcome means. */
export const explainAttempt = (entry: HistoryEntry): Reason => {
  if (entry.outcome === 'sent') return { summary: `Handed to ${entry.server === 'ses' ? 'Amazon SES' : (entry.server ?? 'the mail server')}.`, who: 'none' };
  if (entry.outcome === 'deferred') {
    // Held while the library's sending is paused (the entry carries the pause's code), or by a sending limit.
    const paused = knownOutcomeOf(entry.code);
    if (paused?.scope === 'institution') {
      const words = reasonOf(paused.staff, entry.server === 'ses');
      return { ...words, summary: `Waiting: the library's sending is paused. ${words.summary}` };
    }
    return { summary: `Held back: ${entry.message ?? 'a sending limit'}.`, action: 'Nothing to do: it goes when the limit allows.', who: 'none' };
  }
  if (entry.outcome === 'lease-expired') return { summary: 'A try was interrupted before its result was recorded.', action: 'Nothing to do: it is tried again.', who: 'none' };
  const permanent = entry.outcome === 'permanent';
  const byCode = codeReason(entry);
  // A patron's mail server's permanent refusal: its enhanced status words it more precisely than the
  // catalogue's "refused" (never for the library's own setup, whose words are the catalogue's alone).
  const byStatus = permanent && knownOutcomeOf(entry.code)?.scope !== 'institution' ? enhancedReason(entry.enhancedStatus) : undefined;
  const reason = byStatus ?? byCode ?? enhancedReason(entry.enhancedStatus);
  if (reason) return reason;
  if (entry.responseCode !== undefined && entry.responseCode >= 500) return { summary: 'The mail server refused it for good.', action: CHECK_ADDRESS, who: 'patron' };
  return permanent
    ? { summary: 'It was refused for good.', action: CHECK_ADDRESS, who: 'patron' }
    : { summary: `A try did not work${entry.code ? ` (${entry.code})` : ''}.`, action: 'Nothing to do: it is tried again.', who: 'none' };
};

/**
 * Why the library's sending is paused, from the pause's code (GET /v1/transport's `paused.code`).
 * @example
 * pauseReason('EAUTH', 'mail.library.example.org:587').summary // "The mail server refused Notice Relay's login."
 */
export const pauseReason = (code: string, server: string): Reason => reasonOf(outcomeOf(code).staff, server === 'ses');

/** What an SES event means. */
export const explainEvent = (event: FeedbackEvent): Reason => {
  switch (event.type) {
    case 'delivery':
      return { summary: "The patron's mail server accepted it.", who: 'none' };
    case 'deliveryDelay':
      return { summary: "Amazon SES is still trying the patron's mail server.", who: 'none' };
    case 'complaint':
      return { summary: 'The patron marked it as spam.', action: 'Do not email this patron again; reach them another way.', who: 'patron' };
    case 'reject':
      return { summary: 'Amazon SES refused to send it (it found a virus in it).', action: "Tell the library's IT.", who: 'it' };
    case 'bounce': {
      // The feedback records `<type>/<subType>: <diagnostic>` (shared/delivery/feedback.ts).
      const [kind = '', subType = 'General'] = (event.detail ?? '').split(':')[0]?.split('/') ?? [];
      const diagnostic = /\b([45]\.\d{1,3}\.\d{1,3})\b/.exec(event.detail ?? '')?.[1];
      const reason = BOUNCE_WORDS[subType] ?? enhancedReason(diagnostic) ?? (BOUNCE_WORDS.General as Reason);
      return kind === 'Permanent' ? reason : { summary: `${reason.summary.replace(/\.$/, '')}, for now (a soft bounce).`, action: 'Nothing to do unless it keeps happening.', who: 'none' };
    }
  }
};

const lastOf = <T>(items: readonly T[], wanted: (item: T) => boolean): T | undefined => [...items].reverse().find(wanted);

/** The last attempt that said something about the notice (not a hold-back or a console action). */
const lastTry = (notice: Notice) => lastOf(notice.attempts, (entry) => ['transient', 'permanent', 'lease-expired'].includes(entry.outcome));

/**
 * A notice given up on, with the last problem it met. It is tried no more, so a last problem that would
 * have gone away by itself ("tried again later") says nothing of what to do now: the notice's own action
 * stands instead.
 */
const withLastProblem = (summary: string, notice: Notice, action?: string, who: WhoActs = 'none'): Reason => {
  const last = lastTry(notice);
  const problem = last ? explainAttempt(last) : undefined;
  const full = problem ? `${summary} Last problem: ${problem.summary}` : summary;
  if (!problem || problem.who === 'none') return { summary: full, ...(action ? { action } : {}), who };
  return { summary: full, action: problem.action ?? action, who: problem.who };
};

/**
 * Why a notice is where it is, for the Needs attention list and the notice's page.
 * @example
 * reasonFor(notice).summary // "The patron's email address does not exist."
 */
export const reasonFor = (notice: Notice): Reason => {
  switch (notice.status as string) {
    case 'failed': {
      const refusal = lastOf(notice.attempts, (entry) => entry.outcome === 'permanent');
      return refusal ? explainAttempt(refusal) : { summary: 'It was refused for good.', action: CHECK_ADDRESS, who: 'patron' };
    }
    case 'bounced': {
      const event = lastOf(notice.events, (seen) => seen.type === 'reject' || (seen.type === 'bounce' && (seen.detail ?? '').startsWith('Permanent')));
      return event ? explainEvent(event) : { summary: "The patron's mail server returned it.", action: CHECK_ADDRESS, who: 'patron' };
    }
    case 'complained':
      return explainEvent({ at: notice.updatedAt, type: 'complaint' });
    case 'suppressed':
      return {
        summary: 'Not sent: the address is on the suppression list, because mail to it bounced or was marked as spam before.',
        action: 'If the patron has fixed their mailbox, remove the address from the suppression list, then send it again.',
        who: 'patron',
      };
    case 'discarded': {
      const expired = notice.expiresAt !== undefined && notice.expiresAt <= notice.giveUpAt;
      return expired
        ? withLastProblem('It expired before it could be delivered (its pickup or due window ended).', notice)
        : withLastProblem('It could not be delivered in time, so Notice Relay gave up.', notice, TELL_IT, 'it');
    }
    case 'queued':
    case 'retrying':
    case 'sending': {
      const last = lastOf(notice.attempts, (entry) => ['transient', 'deferred', 'lease-expired'].includes(entry.outcome));
      return last ? explainAttempt(last) : { summary: 'Waiting for its first try.', who: 'none' };
    }
    case 'cancelled':
      return { summary: lastOf(notice.attempts, (entry) => entry.outcome === 'cancelled')?.message?.replace(/^c/, 'C') ?? 'Cancelled before it was sent.', who: 'none' };
    case 'delivered':
      return { summary: "The patron's mail server accepted it.", who: 'none' };
    case 'sent':
      return { summary: notice.attempts.some((entry) => entry.transport === 'ses') ? 'Amazon SES took it; its delivery is not yet reported.' : "The library's mail server took it.", who: 'none' };
    default:
      return { summary: statusLabel(notice.status), who: 'none' };
  }
};
