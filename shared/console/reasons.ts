// What happened to a notice, in words a circulation clerk understands (README: The staff console). The one
// place that turns the delivery outcome codes (shared/transport/classify.ts and the sender's own), the
// SMTP enhanced status codes (RFC 3463), the SES event kinds and the statuses into sentences. It is keyed
// by the code strings and statuses themselves, so a new code needs one entry here and nothing else.
import type { FeedbackEvent, HistoryEntry, Notice } from '../notice/model';

/** Who can do something about it: the patron's address, the library's IT, or nobody (it is on its way). */
export type WhoActs = 'patron' | 'it' | 'none';

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

/** Outcome codes: Nodemailer's and ours (classify.ts, deliver.ts, factory.ts) and SES error names. */
const CODE_WORDS: Record<string, Reason> = {
  ECONNECTION: { summary: "The library's mail server could not be reached.", action: TELL_IT, who: 'it' },
  ECONNREFUSED: { summary: "The library's mail server refused the connection.", action: TELL_IT, who: 'it' },
  ECONNRESET: { summary: "The library's mail server dropped the connection.", action: TELL_IT, who: 'it' },
  EHOSTUNREACH: { summary: "The library's mail server could not be reached over the network.", action: TELL_IT, who: 'it' },
  ENETUNREACH: { summary: "The library's mail server could not be reached over the network.", action: TELL_IT, who: 'it' },
  ESOCKET: { summary: 'The connection to the mail server failed.', action: TELL_IT, who: 'it' },
  EDNS: { summary: "The mail server's name could not be looked up.", action: TELL_IT, who: 'it' },
  ETIMEDOUT: { summary: 'The mail server did not answer in time.', action: TELL_IT, who: 'it' },
  ETLS: { summary: 'A secure (TLS) connection to the mail server could not be made.', action: TELL_IT, who: 'it' },
  EAUTH: { summary: "The mail server refused Notice Relay's login.", action: "Tell the library's IT: the mail server's password or account needs checking.", who: 'it' },
  EOAUTH2: { summary: 'Google or Microsoft refused Notice Relay\'s sign-in to the mailbox.', action: "Tell the library's IT: the OAuth2 authorisation needs renewing.", who: 'it' },
  ENOAUTH: { summary: 'No password is set up for the mail server.', action: TELL_IT, who: 'it' },
  EAUTHREQUIRED: { summary: 'The mail server wants a login that is not set up.', action: TELL_IT, who: 'it' },
  ETHROTTLED: { summary: 'The mail server asked Notice Relay to slow down.', action: 'Nothing to do: it is tried again later.', who: 'none' },
  EENVELOPE: { summary: "The patron's mail server asked to try again later.", action: 'Nothing to do: it is tried again later.', who: 'none' },
  EPROTOCOL: { summary: 'The mail server answered something unexpected.', action: TELL_IT, who: 'it' },
  EDKIMKEY: { summary: 'The key that signs the library\'s mail (DKIM) cannot be used.', action: TELL_IT, who: 'it' },
  ESECRET: { summary: "The mail server's password could not be read.", action: TELL_IT, who: 'it' },
  ECONFIG: { summary: 'Notice Relay is not set up to send for this library.', action: TELL_IT, who: 'it' },
  ENOCONTENT: { summary: "The notice's text was no longer kept, so it could not be sent.", action: 'Send it again from the ILS.', who: 'none' },
  ELEASE: { summary: 'The sender ran out of time for this try.', action: 'Nothing to do: it is tried again.', who: 'none' },
  MessageRejected: { summary: 'Amazon SES refused the message.', action: "Tell the library's IT: while SES is in its sandbox it sends only to verified addresses.", who: 'it' },
  InvalidParameterValue: { summary: 'Amazon SES found the address or the message invalid.', action: CHECK_ADDRESS, who: 'patron' },
  MailFromDomainNotVerifiedException: { summary: "Amazon SES has not verified the library's sending domain.", action: "Tell the library's IT: the DNS page lists the records to publish.", who: 'it' },
  AccountSendingPausedException: { summary: "Sending through the library's Amazon SES account is paused.", action: TELL_IT, who: 'it' },
  ConfigurationSetSendingPausedException: { summary: 'Sending through Amazon SES is paused.', action: TELL_IT, who: 'it' },
  Throttling: { summary: 'Amazon SES asked Notice Relay to slow down.', action: 'Nothing to do: it is tried again later.', who: 'none' },
  ThrottlingException: { summary: 'Amazon SES asked Notice Relay to slow down.', action: 'Nothing to do: it is tried again later.', who: 'none' },
  TooManyRequestsException: { summary: 'Amazon SES asked Notice Relay to slow down.', action: 'Nothing to do: it is tried again later.', who: 'none' },
  LimitExceededException: { summary: "The library's Amazon SES sending limit was reached.", action: 'Nothing to do: it is tried again later.', who: 'none' },
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
  if (entry.outcome === 'deferred') return { summary: `Held back: ${entry.message ?? 'a sending limit'}.`, action: 'Nothing to do: it goes when the limit allows.', who: 'none' };
  if (entry.outcome === 'lease-expired') return { summary: 'A try was interrupted before its result was recorded.', action: 'Nothing to do: it is tried again.', who: 'none' };
  const permanent = entry.outcome === 'permanent';
  // A permanent refusal is about the patron's address or the message; its enhanced status says which.
  const byStatus = permanent ? (enhancedReason(entry.enhancedStatus) ?? (entry.code && CODE_WORDS[entry.code])) : undefined;
  const byCode = entry.code ? CODE_WORDS[entry.code] : undefined;
  const reason = byStatus || byCode || enhancedReason(entry.enhancedStatus);
  if (reason) return reason;
  if (entry.responseCode !== undefined && entry.responseCode >= 500) return { summary: 'The mail server refused it for good.', action: CHECK_ADDRESS, who: 'patron' };
  return permanent
    ? { summary: 'It was refused for good.', action: CHECK_ADDRESS, who: 'patron' }
    : { summary: `A try did not work${entry.code ? ` (${entry.code})` : ''}.`, action: 'Nothing to do: it is tried again.', who: 'none' };
};

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

const withLastProblem = (summary: string, notice: Notice, action?: string): Reason => {
  const last = lastTry(notice);
  if (!last) return { summary, action, who: 'none' };
  const problem = explainAttempt(last);
  return { summary: `${summary} Last problem: ${problem.summary}`, action: problem.action ?? action, who: problem.who };
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
        : withLastProblem('It could not be delivered in time, so Notice Relay gave up.', notice, TELL_IT);
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
