// The one place that decides what a failed send means (README: How delivery works): try again later ("transient"),
// or never ("permanent"). It reads Nodemailer's fields (code, responseCode, command) and SES error
// names, never the wording of a message, but for the one SES documents for its daily quota.
//
// | signal                                                        | verdict                               |
// |---------------------------------------------------------------|---------------------------------------|
// | the server did not answer: ECONNECTION, ETIMEDOUT, ESOCKET,    | transient; the backup server is tried |
// |   EDNS, ETLS, a 421 greeting                                   |   in the same attempt                 |
// | the connection lost after the server took the data             | transient; no backup (it may have it) |
// | SMTP 4xx (RFC 5321 §4.2.1), attempt deadline                   | transient                             |
// | quota and throttling: 421 4.3.2, 4.7.x, 452, 550 5.4.5 (Gmail), | transient, throttled                  |
// |   554 5.2.0 (Microsoft 365); SES Throttling                    |                                       |
// | authentication refused or required: EAUTH, 535, 530, EOAUTH2   | transient, shown in transport status  |
// | SMTP 5xx to MAIL FROM, EHLO or AUTH (our configuration)        | transient                             |
// | SMTP 5xx to RCPT TO or DATA; SES MessageRejected, bad address  | permanent                             |
// | anything else                                                  | transient (bounded by giveUpAt)       |
import { type DeliveryFacts, DeliveryError } from '../errors';

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
const CONNECTION_CODES = ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'];

/** The server did not take part in an SMTP transaction at all, so the backup server may be tried. */
export const isConnectionFailure = (error: unknown): boolean => {
  const failure = error as NodemailerFailure;
  if (isTlsUnavailable(error)) return true;
  const beforeTransaction = failure?.command === undefined || ['CONN', 'EHLO', 'HELO', 'STARTTLS'].includes(failure.command);
  return beforeTransaction && CONNECTION_CODES.includes(failure?.code ?? '');
};

/**
 * A reply that asks the whole institution to slow down. A `4.7.x` refusal of one recipient (`451 4.7.1`
 * greylisting) is about that address only: it retries that notice, and pausing every sender would stall
 * a night's batch for one patron's mail server. At the connection (421) or the sender, it throttles.
 */
const isThrottling = (responseCode: number | undefined, enhanced: string | undefined, command: string | undefined): boolean =>
  (responseCode === 421 && enhanced === '4.3.2') ||
  ((enhanced?.startsWith('4.7.') ?? false) && (responseCode === 421 || command !== 'RCPT TO')) ||
  responseCode === 452 ||
  enhanced === '5.4.5' ||
  (responseCode === 554 && enhanced === '5.2.0');

/** A daily sending quota, not a momentary rate: Gmail's 5.4.5, Microsoft 365's 554 5.2.0. */
const isQuota = (responseCode: number | undefined, enhanced: string | undefined): boolean => enhanced === '5.4.5' || (responseCode === 554 && enhanced === '5.2.0');

/**
 * Classifies a failed SMTP send to `server`.
 * @example
 * catch (error) { throw classifySmtpFailure(error, 'mail.example.org:587'); }
 */
export const classifySmtpFailure = (error: unknown, server: string): DeliveryError => {
  if (error instanceof DeliveryError) return error;
  const failure = (error ?? {}) as NodemailerFailure;
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : undefined;
  const enhancedStatus = enhancedStatusOf(failure.response);
  const command = failure.command;
  const copiesAccepted = failure.copiesAccepted?.length ? { copiesAccepted: failure.copiesAccepted } : {};
  const facts = (code: string, extra: Partial<DeliveryFacts> = {}): DeliveryFacts => ({ transport: 'smtp', server, code, responseCode, enhancedStatus, command, ...copiesAccepted, ...extra });
  const message = failure.response ?? failure.message ?? String(error);
  const transient = (code: string, extra?: Partial<DeliveryFacts>, text = message) => new DeliveryError(text, 'transient', facts(code, extra), { cause: error });

  if (failure.code === 'EABORT') {
    const after = command === 'DATA' ? `, after taking the message's data: the message may have arrived` : '';
    return transient('ETIMEDOUT', {}, `the attempt's deadline passed before ${server} finished${after}`);
  }
  if (isTlsUnavailable(error)) return transient('ETLS', {}, `TLS could not be made with ${server}: ${failure.message ?? message}`);
  // 530: the relay wants a login it was not given (RFC 4954), at MAIL FROM or RCPT TO alike: our setup.
  if (['EAUTH', 'ENOAUTH', 'EOAUTH2'].includes(failure.code ?? '') || responseCode === 535 || responseCode === 534 || responseCode === 530) {
    return transient(responseCode === 530 ? 'EAUTHREQUIRED' : (failure.code ?? 'EAUTH'), { authFailure: true });
  }
  if (responseCode === undefined && command === 'DATA' && CONNECTION_CODES.includes(failure.code ?? '')) {
    return transient(failure.code ?? 'ECONNECTION', {}, `${server} lost the connection after taking the message's data, before confirming it: the message may have arrived`);
  }
  if (responseCode === undefined) return transient(failure.code ?? 'EUNKNOWN');
  if (isThrottling(responseCode, enhancedStatus, command)) return transient(failure.code ?? 'ETHROTTLED', { throttled: true, ...(isQuota(responseCode, enhancedStatus) ? { quota: true } : {}) });
  if (responseCode >= 400 && responseCode < 500) return transient(failure.code ?? 'EENVELOPE');
  // 503 "bad sequence of commands" is the conversation going wrong, not a verdict on the notice.
  if (responseCode === 503) return transient(failure.code ?? 'EPROTOCOL');
  // A 5xx to the recipient or the content is about this notice; to anything before, about our setup.
  const aboutThisNotice = command === undefined || /^(RCPT TO|DATA)/i.test(command) || command === 'DATA' || failure.code === 'EMESSAGE';
  if (responseCode >= 500 && aboutThisNotice) return new DeliveryError(message, 'permanent', facts(failure.code ?? 'EENVELOPE'), { cause: error });
  return transient(failure.code ?? 'EPROTOCOL');
};

/** SES error names that mean "later" (Amazon SES API reference, SendRawEmail errors). */
const SES_TRANSIENT = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'LimitExceededException',
  'AccountSendingPausedException',
  'ConfigurationSetSendingPausedException',
  'ConfigurationSetDoesNotExistException',
  'MailFromDomainNotVerifiedException',
  'ServiceUnavailable',
  'InternalFailure',
  'TimeoutError',
  'AbortError',
]);
const SES_THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'LimitExceededException']);
const SES_PERMANENT = new Set(['MessageRejected', 'InvalidParameterValue']);

/**
 * SES gives its daily quota and its rate the one error name; only the message, which AWS documents
 * ("Errors related to the sending quotas"), tells the quota, which resets within the day, from the rate.
 */
const SES_DAILY_QUOTA = /daily message quota exceeded/i;

/** Classifies a failed SES send. */
export const classifySesFailure = (error: unknown): DeliveryError => {
  if (error instanceof DeliveryError) return error;
  const failure = (error ?? {}) as { name?: string; message?: string; $fault?: string };
  const name = failure.name ?? 'UnknownError';
  const message = `${name}: ${failure.message ?? ''}`.trim();
  const throttled = SES_THROTTLING.has(name);
  const quota = throttled && SES_DAILY_QUOTA.test(failure.message ?? '');
  const facts: DeliveryFacts = { transport: 'ses', server: 'ses', code: name, ...(throttled ? { throttled: true } : {}), ...(quota ? { quota: true } : {}) };
  if (SES_PERMANENT.has(name) && failure.$fault !== 'server') return new DeliveryError(message, 'permanent', facts, { cause: error });
  if (SES_TRANSIENT.has(name) || failure.$fault === 'server') return new DeliveryError(message, 'transient', facts, { cause: error });
  return new DeliveryError(message, 'transient', facts, { cause: error });
};
