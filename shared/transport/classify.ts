// The one catalogue of outcomes (docs/it/troubleshooting.md). Every SMTP reply, connection or TLS error,
// OAuth2 failure, SES error and SES event maps here, by structured field (Nodemailer's code, the reply
// code, the enhanced status, the command, the SES error's name), to an outcome with
// - a code from OUTCOMES below, the one list docs/it/troubleshooting.md's code table is tested against;
// - a scope: the patron's address (`recipient`), this one message (`message`), or the institution's own
//   sending setup (`institution`). Only the first two may fail a notice: an institution-scope outcome
//   pauses the institution's sending (shared/transport/pause.ts) and holds the notice without counting
//   an attempt;
// - a verdict: `transient` (try again later) or `permanent` (never).
// Message text is read in three places only, where the server documents no other signal: SES's daily
// quota, SES's "Email address is not verified", and a relay refusal deferred with 451 4.7.x at RCPT TO
// (the same code greylisting uses).
import { DeliveryError, type DeliveryFacts, type OutcomeKind } from '../errors';

/** How an institution-scope outcome pauses the institution (shared/transport/pause.ts). */
export type PauseKind =
  /** Something is broken: one probe at a time, on a backoff from the short retry delay to the long one. */
  | 'probe'
  /** The relay asked to slow down: the short retry delay, then a probe. */
  | 'throttle'
  /** A daily quota ran out: the long retry delay, then a probe. */
  | 'quota';

/** Who can do something about an outcome: the patron (their address), the library's IT, or nobody (it goes on its own). */
export type WhoActs = 'patron' | 'it' | 'none';

/** An outcome in words a circulation clerk understands, as the staff console shows it. */
export interface StaffWords {
  /** One sentence: what happened. */
  says: string;
  /** The sentence when it was Amazon SES that answered, for the outcomes SMTP relays and SES share. */
  sesSays?: string;
  /** What to do about it, if anything. */
  action?: string;
  who: WhoActs;
}

export interface Outcome extends OutcomeKind {
  code: OutcomeCode;
  /** Institution scope only: how it pauses. */
  pause?: PauseKind;
  /** The credentials were refused or are missing: GET /v1/transport shows it as lastAuthFailure. */
  login?: boolean;
  /** What it means, in a few words: the transport status and the return-to-sender report say it. */
  summary: string;
  /** What it means to circulation staff, and who acts on it: the console's words. */
  staff: StaffWords;
  /** Decided here, before any word from the relay or SES: it says nothing of whether they take mail. */
  local?: boolean;
}

const TELL_IT = "Notices wait and keep their place. Tell the library's IT: the Email settings page shows the mail server's state and has a Test Server button.";
const CHECK_ADDRESS = "Check the patron's email address in the ILS, correct it, then send the notice again.";
const GOES_ON = 'Nothing to do: it is tried again later.';
const WAITS = 'Nothing to do: notices wait and go out on their own.';

/** Words for staff: who acts follows from the scope and the verdict unless an entry says otherwise. */
type Words = string | { says: string; sesSays?: string; action?: string; who?: WhoActs };
const wordsOf = (words: Words, who: WhoActs, action: string | undefined): StaffWords => {
  const given = typeof words === 'string' ? { says: words } : words;
  const acting = given.who ?? who;
  const said = 'action' in given ? given.action : acting === 'none' ? GOES_ON : action;
  return { says: given.says, ...('sesSays' in given && given.sesSays ? { sesSays: given.sesSays } : {}), ...(said ? { action: said } : {}), who: acting };
};

const institution = (summary: string, staff: Words, pause: PauseKind = 'probe', login = false) => ({
  scope: 'institution' as const,
  verdict: 'transient' as const,
  pause,
  summary,
  staff: wordsOf(staff, 'it', TELL_IT),
  ...(login ? { login } : {}),
});
const recipient = (verdict: 'transient' | 'permanent', summary: string, staff: Words) => ({ scope: 'recipient' as const, verdict, summary, staff: wordsOf(staff, verdict === 'permanent' ? 'patron' : 'none', CHECK_ADDRESS) });
const message = (verdict: 'transient' | 'permanent', summary: string, staff: Words, local = false) => ({
  scope: 'message' as const,
  verdict,
  summary,
  staff: wordsOf(staff, verdict === 'permanent' ? 'it' : 'none', "Tell the library's IT: the notice's page shows the mail server's reply."),
  ...(local ? { local } : {}),
});

const LOGIN = "Notices wait and keep their place. Tell the library's IT: the mail server's password or account needs checking.";
const DNS_PAGE = "Notices wait and keep their place. Tell the library's IT: the DNS page lists the records to publish, and Amazon SES must show the domain verified.";

/**
 * Every outcome a failed attempt can have. docs/it/troubleshooting.md ("What each code means") names each of these
 * codes, and no other (test/unit/shared/transport/classify.test.ts).
 */
const CATALOGUE = {
  // The institution's own setup: the relay, its login, TLS, DNS, the secret, SES's account.
  ECONNECTION: institution('the relay could not be reached, or closed the connection before the mail transaction', "The library's mail server could not be reached."),
  EDNS: institution("the relay's host name does not resolve", "The mail server's name could not be looked up."),
  ETLS: institution(
    'TLS could not be made with the relay: it offers no STARTTLS, the handshake failed, or its certificate does not verify',
    'A secure (TLS) connection to the mail server could not be made.',
  ),
  EAUTH: institution('the relay refused the login', { says: "The mail server refused Notice Relay's login.", action: LOGIN }, 'probe', true),
  EAUTHREQUIRED: institution('the relay takes mail only after a login, and none is configured', { says: 'The mail server wants a login that is not set up.', action: LOGIN }, 'probe', true),
  EOAUTH2: institution(
    'the OAuth2 token endpoint refused the grant or did not answer',
    { says: "Google or Microsoft refused Notice Relay's sign-in to the mailbox.", action: "Notices wait and keep their place. Tell the library's IT: the OAuth2 authorisation needs renewing." },
    'probe',
    true,
  ),
  ENOAUTH: institution('a password, OAuth2 secret or DKIM key is missing from the configuration and the secret', 'A password or key the mail server needs is not set up.', 'probe', true),
  ESECRET: institution("the institution's secret could not be read", "The mail server's password could not be read.", 'probe', true),
  EDKIMKEY: institution('the DKIM private key cannot sign', "The key that signs the library's mail (DKIM) cannot be used.", 'probe', true),
  ERELAYDENIED: institution('the relay refuses to relay for this sender (5.7.1 at RCPT TO, or 454 4.7.x when it defers instead)', "The library's mail server will not pass Notice Relay's mail on (it wants a login or an allowed address)."),
  ESENDER: institution('the relay refused the envelope sender or the From address', "The library's mail server refused the library's own sending address."),
  ETEMPFAIL: institution('the relay asked to try again later before any recipient was named', "The library's mail server asked to try again later."),
  EPROTOCOL: institution('the relay refused the conversation itself: its greeting of the client, or commands out of sequence', 'The mail server answered something unexpected.'),
  ETHROTTLED: institution('the relay or SES asked to slow down', { says: 'The mail server asked Notice Relay to slow down.', sesSays: 'Amazon SES asked Notice Relay to slow down.', who: 'none', action: WAITS }, 'throttle'),
  EQUOTA: institution('a daily sending quota ran out', { says: "The library's daily sending limit was reached.", who: 'none', action: 'Nothing to do: notices wait and go out when the limit allows.' }, 'quota'),
  ESESNOTVERIFIED: institution(
    'SES has not verified the sending domain yet, or the account is in the SES sandbox and the recipient is not verified',
    { says: 'Amazon SES is not ready to send for the library yet (the sending domain is not verified, or the account is still in the SES sandbox).', action: DNS_PAGE },
  ),
  ESESMAILFROM: institution('SES has not verified the custom MAIL FROM domain: its MX record is missing', { says: "Amazon SES has not verified the library's bounce (MAIL FROM) domain.", action: DNS_PAGE }),
  ESESPAUSED: institution('SES has paused sending for the account or its configuration set', "Amazon SES has paused sending for the library's account."),
  ESESACCESS: institution('SES refused the credentials or the permission to send', "Amazon SES refused Notice Relay's permission to send."),
  ESESUNAVAILABLE: institution('SES did not answer, or answered with a fault of its own', { says: 'Amazon SES did not answer.', who: 'none', action: WAITS }),
  ECONFIG: institution("the sender's configuration cannot send this institution's mail", 'Notice Relay is not set up to send for this library.'),
  EREPEATED: institution(
    'the relay gave the same permanent refusal to several different patrons in a row',
    "The library's mail server refused several different patrons in a row the same way: that is the mail server, not their addresses.",
  ),
  // The patron's address.
  ERECIPIENT: recipient('permanent', "the relay refused the patron's address", "The patron's email address was refused."),
  ERECIPIENTLATER: recipient('transient', "the relay asked to try the patron's address again later", "The patron's mail server asked to try again later."),
  EBOUNCED: recipient('permanent', "the patron's mail system returned the message as undeliverable", "The patron's mail server returned it."),
  // This one message.
  EMESSAGE: message('permanent', 'the relay refused this message', 'The mail server refused this message.'),
  EMESSAGELATER: message('transient', 'the relay asked to try this message again later', 'The mail server asked to try this message again later.'),
  ELOST: message('transient', 'the relay dropped the connection during the mail transaction, before it had the message', 'The connection to the mail server was lost during the try.'),
  // A timeout is not taken for the setup's refusal: a relay that is slow under load, or one moment of a busy
  // network, must not hold every notice back. This notice alone tries again; one that never answers stalls
  // the institution, and the stall alert tells of it.
  ETIMEDOUT: message('transient', 'the relay did not answer in time, before it had the message', 'The mail server did not answer in time.'),
  EUNCONFIRMED: message(
    'transient',
    "the relay took the message's data and never confirmed it: the patron may have received it",
    {
      says: 'The mail server took the message but never confirmed it: the patron may have received it.',
      sesSays: 'Amazon SES did not confirm it took the message: the patron may have received it.',
      action: 'Nothing to do: it is tried again, so the patron may get it twice.' },
  ),
  ESESREJECTED: message('permanent', 'SES refused this message', 'Amazon SES refused the message.'),
  EREJECTED: message('permanent', 'SES took the message, then rejected it (it found a virus)', 'Amazon SES refused to send it (it found a virus in it).'),
  ENOCONTENT: message('permanent', "the notice's content is no longer stored", { says: "The notice's text was no longer kept, so it could not be sent.", action: 'Send it again from the ILS.', who: 'none' }, true),
  ELEASE: message('transient', 'the lease ran out before the message could be sent', 'The sender ran out of time for this try.', true),
  EINTERNAL: message('transient', 'the attempt failed inside the sender', 'Notice Relay itself failed during the try.', true),
  EUNKNOWN: message('transient', 'an error this catalogue does not know', 'A try did not work.', true),
} as const;

export type OutcomeCode = keyof typeof CATALOGUE;

/** The catalogue, by code. */
export const OUTCOMES: Readonly<Record<OutcomeCode, Outcome>> = Object.fromEntries(
  Object.entries(CATALOGUE).map(([code, entry]) => [code, { code, ...entry }]),
) as Record<OutcomeCode, Outcome>;

/** Codes older versions recorded before the catalogue: Nodemailer's socket codes (SES error names are mapped below). */
const RECORDED_BEFORE: Readonly<Record<string, OutcomeCode>> = { ECONNREFUSED: 'ECONNECTION', ECONNRESET: 'ECONNECTION', EHOSTUNREACH: 'ECONNECTION', ENETUNREACH: 'ECONNECTION', ESOCKET: 'ECONNECTION', EPIPE: 'ECONNECTION' };

/**
 * The outcome a recorded code names, also a code an older version recorded (a socket code, an SES error
 * name); undefined for a code it cannot place.
 */
export const knownOutcomeOf = (code: string | undefined): Outcome | undefined => {
  if (code === undefined) return undefined;
  const named = Object.hasOwn(OUTCOMES, code) ? (code as OutcomeCode) : Object.hasOwn(RECORDED_BEFORE, code) ? RECORDED_BEFORE[code] : Object.hasOwn(SES_ERRORS, code) ? SES_ERRORS[code] : undefined;
  return named ? OUTCOMES[named] : undefined;
};

/** The outcome a code names; a code it cannot place is EUNKNOWN's. */
export const outcomeOf = (code: string | undefined): Outcome => knownOutcomeOf(code) ?? OUTCOMES.EUNKNOWN;

/**
 * A failed attempt with the outcome `code` names.
 * @example
 * throw deliveryFailure('ECONFIG', 'SES is not available to this sender', { transport: 'ses', server: 'ses' });
 */
export const deliveryFailure = (code: OutcomeCode, text: string, facts: Omit<DeliveryFacts, 'code'>, cause?: unknown): DeliveryError =>
  new DeliveryError(text, OUTCOMES[code], facts, cause === undefined ? undefined : { cause });

/**
 * How many different patrons must get the same permanent refusal in a row before it is taken for a
 * refusal of the institution (EREPEATED). Two patrons' unknown addresses can follow one another on any
 * night, and each must fail at once with its report; three different patrons refused alike with nothing
 * sent in between is what a relay that refuses everyone looks like. The first two still fail.
 */
export const SAME_REFUSAL_LIMIT = 3;

/** What Nodemailer puts on an error (lib/errors.js, lib/smtp-connection). */
interface NodemailerFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
  /** Set by the SMTP transport: the copies (cc) a server accepted while it refused the patron's address. */
  copiesAccepted?: string[];
}

/** The SMTP reply code at the start of a server's reply: `250 2.0.0 OK` → 250. */
export const replyCodeOf = (reply: string | undefined): number | undefined => {
  const code = /^([2-5]\d\d)(?:[ -]|$)/.exec(reply ?? '')?.[1];
  return code === undefined ? undefined : Number(code);
};

/** RFC 3463 enhanced status code at the start of a reply's text: `550 5.1.1 …` → `5.1.1`. */
export const enhancedStatusOf = (reply: string | undefined): string | undefined => /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply ?? '')?.[1];

/** Codes Node gives a socket whose TLS peer could not be verified. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** The codes of an error and its causes; Nodemailer keeps a socket's own code as `originalCode`. */
const causeCodes = (error: unknown): string[] => {
  const codes: string[] = [];
  for (let current = error as { code?: unknown; originalCode?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    for (const code of [current.code, current.originalCode]) if (typeof code === 'string') codes.push(code);
  }
  return codes;
};

/**
 * TLS could not be made with a server that answered: it offers no STARTTLS, the handshake failed, or its
 * certificate does not verify. Only here may `allowNonSecure` fall back to plain SMTP.
 */
export const isTlsUnavailable = (error: unknown): boolean => {
  const failure = error as NodemailerFailure;
  if (failure?.code === 'ETLS') return true;
  const codes = causeCodes(error);
  if (codes.some((code) => CERTIFICATE_CODES.has(code) || code.startsWith('ERR_SSL_') || code === 'EPROTO')) return true;
  // Implicit TLS to a server that speaks plain SMTP: the handshake reads a greeting instead of a record.
  return failure?.code === 'ESOCKET' && /wrong version number|packet length too long|unknown protocol/i.test(failure.message ?? '');
};

/** Codes of a connection that could not be made or was lost. */
const CONNECTION_CODES = ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'];
/** The commands of a session before its mail transaction: a failure here is the server's, not a message's. */
const SESSION_COMMANDS = ['CONN', 'EHLO', 'HELO', 'STARTTLS'];

/** The server did not take part in an SMTP transaction at all, so the backup server may be tried. */
export const isConnectionFailure = (error: unknown): boolean => {
  const failure = error as NodemailerFailure;
  if (isTlsUnavailable(error)) return true;
  const beforeTransaction = failure?.command === undefined || SESSION_COMMANDS.includes(failure.command);
  return beforeTransaction && CONNECTION_CODES.includes(failure?.code ?? '');
};

/**
 * A reply that asks the whole institution to slow down. A `4.7.x` refusal of one recipient (`451 4.7.1`
 * greylisting) is about that address only: it retries that notice, and pausing every sender would stall
 * a night's batch for one patron's mail server. At the connection (421) or the sender, it throttles.
 */
const isThrottling = (responseCode: number, enhanced: string | undefined, command: string | undefined): boolean =>
  (responseCode === 421 && enhanced === '4.3.2') || ((enhanced?.startsWith('4.7.') ?? false) && (responseCode === 421 || command !== 'RCPT TO')) || responseCode === 452;

/** The words of a relay that will not relay: Postfix's "Relay access denied", Exim's "relay not permitted", Exchange's "Unable to relay". */
const RELAY_REFUSED = /\b(relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)|unable to relay)\b/i;

/**
 * A relay refusal deferred rather than refused at RCPT TO. Postfix answers `454 4.7.1 <…>: Relay access
 * denied` by default (smtpd_relay_restrictions ends in defer_unauth_destination) and under soft_bounce,
 * which turns its 554 5.7.1 into 454 4.7.1: a 454 4.7.x to a recipient is the relay's refusal of the
 * sender, as 5.7.1 is. A 451 4.7.x is greylisting as often (milter-greylist's `451 4.7.1`), about that
 * patron's mail server only; there only the reply's words tell the relay's refusal apart.
 */
const isDeferredRelayRefusal = (responseCode: number, enhanced: string | undefined, response: string | undefined): boolean =>
  (enhanced?.startsWith('4.7.') ?? false) && (responseCode === 454 || (responseCode === 451 && RELAY_REFUSED.test(response ?? '')));

/** A daily sending quota, not a momentary rate: Gmail's 550 5.4.5, Microsoft 365's 554 5.2.0. */
const isQuota = (responseCode: number, enhanced: string | undefined): boolean => enhanced === '5.4.5' || (responseCode === 554 && enhanced === '5.2.0');

/** The stage of the conversation a command belongs to. */
const stageOf = (command: string | undefined): 'session' | 'auth' | 'sender' | 'recipient' | 'data' | 'unknown' => {
  const verb = command?.toUpperCase() ?? '';
  if (SESSION_COMMANDS.includes(verb)) return 'session';
  if (verb.startsWith('AUTH')) return 'auth';
  if (verb.startsWith('MAIL')) return 'sender';
  if (verb.startsWith('RCPT')) return 'recipient';
  if (verb === 'DATA' || verb === 'BDAT' || verb === 'API') return 'data';
  return 'unknown';
};

/** The code of an SMTP failure to `server`, from Nodemailer's fields alone. */
const smtpOutcome = (failure: NodemailerFailure, error: unknown): OutcomeCode => {
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : undefined;
  const enhanced = enhancedStatusOf(failure.response);
  const stage = stageOf(failure.command);
  if (failure.code === 'EABORT') return stage === 'data' ? 'EUNCONFIRMED' : 'ETIMEDOUT';
  if (isTlsUnavailable(error)) return 'ETLS';
  // 530: the relay wants a login it was not given (RFC 4954), at MAIL FROM or RCPT TO alike.
  if (responseCode === 530) return 'EAUTHREQUIRED';
  if (failure.code === 'ENOAUTH') return 'ENOAUTH';
  if (failure.code === 'EAUTH' || stage === 'auth' || responseCode === 535 || responseCode === 534) return 'EAUTH';
  if (responseCode === undefined) {
    // Lost after the server took the data: it may have the message (the transport marks this as DATA).
    if (stage === 'data' && CONNECTION_CODES.includes(failure.code ?? '')) return 'EUNCONFIRMED';
    if (!CONNECTION_CODES.includes(failure.code ?? '')) return 'EUNKNOWN';
    // A connection lost in the middle of a transaction: the server was there, this message goes again.
    if (stage === 'sender' || stage === 'recipient') return 'ELOST';
    if (failure.code === 'EDNS') return 'EDNS';
    return causeCodes(error).includes('ETIMEDOUT') ? 'ETIMEDOUT' : 'ECONNECTION';
  }
  if (isQuota(responseCode, enhanced)) return 'EQUOTA';
  if (isThrottling(responseCode, enhanced, failure.command?.toUpperCase())) return 'ETHROTTLED';
  // 503 "bad sequence of commands" is the conversation going wrong, not a verdict on the notice; a 421
  // closes the session whatever command it answered (RFC 5321 §3.8).
  if (responseCode === 503) return 'EPROTOCOL';
  if (responseCode === 421) return 'ETEMPFAIL';
  const later = responseCode < 500;
  switch (stage) {
    case 'session':
      return later ? 'ETEMPFAIL' : 'EPROTOCOL';
    case 'sender':
      return later ? 'ETEMPFAIL' : 'ESENDER';
    case 'recipient':
      if (later) return isDeferredRelayRefusal(responseCode, enhanced, failure.response) ? 'ERELAYDENIED' : 'ERECIPIENTLATER';
      // 5.7.1 to a recipient of a submission relay: "Relay access denied", not the patron's address.
      return enhanced === '5.7.1' ? 'ERELAYDENIED' : 'ERECIPIENT';
    default:
      // Microsoft 365's SendAsDenied: the login may not send as the configured From address.
      if (enhanced === '5.2.252') return 'ESENDER';
      return later ? 'EMESSAGELATER' : 'EMESSAGE';
  }
};

/** Messages for outcomes whose own wording says more than the bare error. */
const smtpText = (code: OutcomeCode, failure: NodemailerFailure, server: string, fallback: string): string => {
  if (failure.code === 'EABORT') {
    return code === 'EUNCONFIRMED'
      ? `the attempt's deadline passed after ${server} took the message's data, before it confirmed it: the message may have arrived`
      : `the attempt's deadline passed before ${server} finished`;
  }
  if (code === 'EUNCONFIRMED') return `${server} lost the connection after taking the message's data, before confirming it: the message may have arrived`;
  if (code === 'ETLS') return `TLS could not be made with ${server}: ${failure.message ?? fallback}`;
  return fallback;
};

/**
 * Classifies a failed SMTP send to `server`.
 * @example
 * catch (error) { throw classifySmtpFailure(error, 'mail.example.org:587'); }
 */
export const classifySmtpFailure = (error: unknown, server: string): DeliveryError => {
  if (error instanceof DeliveryError) return error;
  const failure = (error ?? {}) as NodemailerFailure;
  const code = smtpOutcome(failure, error);
  const facts: Omit<DeliveryFacts, 'code'> = {
    transport: 'smtp',
    server,
    responseCode: typeof failure.responseCode === 'number' ? failure.responseCode : undefined,
    enhancedStatus: enhancedStatusOf(failure.response),
    command: failure.command,
    ...(failure.copiesAccepted?.length ? { copiesAccepted: failure.copiesAccepted } : {}),
  };
  return deliveryFailure(code, smtpText(code, failure, server, failure.response ?? failure.message ?? String(error)), facts, error);
};

/**
 * SES gives its daily quota and its rate the one error name; only the message, which AWS documents
 * ("Errors related to the sending quotas"), tells the quota, which resets within the day, from the rate.
 */
const SES_DAILY_QUOTA = /daily message quota exceeded/i;
/**
 * MessageRejected says "Email address is not verified" (AWS knowledge center, "554 or 400 Message
 * rejected") while the domain's identity is pending, or in the sandbox for any recipient not verified:
 * the account's setup, not the message.
 */
const SES_NOT_VERIFIED = /not verified/i;

/** SES error names and what they mean (Amazon SES API reference: SendRawEmail errors, common errors). */
const SES_ERRORS: Record<string, OutcomeCode> = {
  Throttling: 'ETHROTTLED',
  ThrottlingException: 'ETHROTTLED',
  TooManyRequestsException: 'ETHROTTLED',
  LimitExceededException: 'ETHROTTLED',
  MessageRejected: 'ESESREJECTED',
  InvalidParameterValue: 'ESESREJECTED',
  MailFromDomainNotVerifiedException: 'ESESMAILFROM',
  AccountSendingPausedException: 'ESESPAUSED',
  ConfigurationSetSendingPausedException: 'ESESPAUSED',
  ConfigurationSetDoesNotExistException: 'ECONFIG',
  AccessDenied: 'ESESACCESS',
  AccessDeniedException: 'ESESACCESS',
  InvalidClientTokenId: 'ESESACCESS',
  UnrecognizedClientException: 'ESESACCESS',
  SignatureDoesNotMatch: 'ESESACCESS',
  ExpiredToken: 'ESESACCESS',
  ExpiredTokenException: 'ESESACCESS',
  ServiceUnavailable: 'ESESUNAVAILABLE',
  InternalFailure: 'ESESUNAVAILABLE',
};

/** The SES error names the catalogue knows (the SES transport's tests go through each). */
export const SES_ERROR_NAMES: readonly string[] = Object.keys(SES_ERRORS);

/** Classifies a failed SES send. */
export const classifySesFailure = (error: unknown): DeliveryError => {
  if (error instanceof DeliveryError) return error;
  const failure = (error ?? {}) as { name?: string; message?: string; code?: string; $fault?: string };
  const name = failure.name ?? 'UnknownError';
  const said = failure.message ?? '';
  const text = `${name}: ${said}`.trim();
  const facts = { transport: 'ses' as const, server: 'ses', command: name };
  // A fault of SES's own is never a verdict on the message, whatever its name.
  let code: OutcomeCode = failure.$fault === 'server' ? 'ESESUNAVAILABLE' : (SES_ERRORS[name] ?? 'EUNKNOWN');
  if (code === 'ETHROTTLED' && SES_DAILY_QUOTA.test(said)) code = 'EQUOTA';
  if (name === 'MessageRejected' && SES_NOT_VERIFIED.test(said)) code = 'ESESNOTVERIFIED';
  // The SDK gave up on the request (our deadline, a socket timeout): SES may have taken the message.
  if (name === 'TimeoutError' || name === 'AbortError') code = 'EUNCONFIRMED';
  // No answer at all (refused, reset, DNS): nothing was sent.
  else if (CONNECTION_CODES.includes(failure.code ?? '') && code === 'EUNKNOWN') code = 'ESESUNAVAILABLE';
  return deliveryFailure(code, code === 'EUNCONFIRMED' ? `${text} (SES may have taken the message)` : text, facts, error);
};

/** What an SES event (from the configuration set's event destination) means for the notice it is about. */
export interface SesEventVerdict {
  /** The status it ends the notice with, if any. */
  becomes?: 'delivered' | 'bounced' | 'complained';
  /** The catalogue's code, for an event that reports a failure. */
  code?: OutcomeCode;
}

/**
 * The verdict on an SES event. A permanent bounce of the patron's address, or a reject (SES found a
 * virus), ends the notice as `bounced`; a transient or undetermined bounce is recorded only (SES has
 * given up on it, but the address may work another day); a delivery or complaint that concerns the
 * patron ends it as `delivered` or `complained`. What became of a copy (cc) alone decides nothing.
 */
export const classifySesEvent = (eventType: string, details: { bounceType?: string; concernsPatron: boolean }): SesEventVerdict | undefined => {
  switch (eventType) {
    case 'Delivery':
      return details.concernsPatron ? { becomes: 'delivered' } : {};
    case 'Bounce':
      return details.bounceType === 'Permanent' && details.concernsPatron ? { becomes: 'bounced', code: 'EBOUNCED' } : {};
    case 'Complaint':
      return details.concernsPatron ? { becomes: 'complained' } : {};
    case 'Reject':
      return { becomes: 'bounced', code: 'EREJECTED' };
    case 'DeliveryDelay':
      return {};
    default:
      return undefined;
  }
};

/**
 * A permanent refusal as the safety net compares them: the reply with what names one patron or one
 * message (addresses, bracketed words, queue ids, numbers) taken out. Undefined for anything but a
 * permanent refusal of a recipient or a message.
 */
export const refusalSignature = (error: DeliveryError): string | undefined => {
  if (error.verdict !== 'permanent' || error.scope === 'institution') return undefined;
  if (!['ERECIPIENT', 'EMESSAGE', 'ESESREJECTED'].includes(error.facts.code)) return undefined;
  const text = error.message
    .replace(/<[^>]*>/g, '<>')
    .replace(/[^\s<>"'()]+@[^\s<>"'(),;]+/g, '@')
    .replace(/\b[0-9A-Fa-f]{6,}\b|\d+/g, '#')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  return `${error.facts.code} ${error.facts.responseCode ?? ''} ${error.facts.enhancedStatus ?? ''} ${text}`.slice(0, 300);
};
