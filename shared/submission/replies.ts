// The SMTP door's one map from the domain's errors to SMTP replies (RFC 5321 §4.2 codes, RFC 3463 enhanced
// status codes), as lambdas/intake/http.ts is the API's map to HTTP statuses. Known errors say what to fix;
// anything else is a 451 with a fixed text, never an unknown error's words: the client tries again later.
import { type ConflictError, errorCode, type ErrorDetail, NoticeRelayError, type RateLimitedError, type TooLargeError, type ValidationError } from '../errors';

/** One SMTP reply: `550 5.7.1 From <x> is not allowed…`. */
export interface SmtpReply {
  code: number;
  /** The RFC 3463 enhanced status code. */
  status: string;
  text: string;
}

/** What refuses a command or a message with a reply of its own; `reason` is a log-safe code. */
export class SmtpRefusalError extends NoticeRelayError {
  public readonly reply: SmtpReply;
  public readonly reason: string;

  public constructor(reply: SmtpReply, reason: string, options?: ErrorOptions) {
    super(reply.text, options);
    this.name = 'SmtpRefusalError';
    this.reply = reply;
    this.reason = reason;
  }
}

/** RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, code and CRLF included. */
const MAX_TEXT = 480;

const clip = (text: string): string => (text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`);

export const reply = (code: number, status: string, text: string): SmtpReply => ({ code, status, text: clip(text) });

/** The reply as smtp-server sends an error: code, enhanced status, text. */
export const replyLine = (smtp: SmtpReply): string => `${smtp.code} ${smtp.status} ${smtp.text}`;

/** Where in the message each field of a notice comes from, for a reply that says what to change. */
const FIELD_SOURCES: Record<string, string> = {
  to: 'the recipient',
  subject: 'Subject',
  text: 'the body',
  html: 'the HTML body',
  replyTo: 'Reply-To',
  type: 'X-Notice-Type',
  externalId: 'X-Notice-External-Id',
  sendAt: 'X-Notice-Send-At',
  expiresAt: 'X-Notice-Expires-At',
  attachments: 'the attachments',
};

/** `notices[2].attachments[0].filename` → `attachment 1's filename`; `notices[0].sendAt` → `X-Notice-Send-At`. */
const sourceOf = (path: string): string => {
  const field = path.replace(/^notices\[\d+\]\.?/, '');
  const attachment = /^attachments\[(\d+)\]\.?(.*)$/.exec(field);
  if (attachment) return `attachment ${Number(attachment[1]) + 1}${attachment[2] ? `'s ${attachment[2]}` : ''}`;
  return FIELD_SOURCES[field.split(/[.[]/)[0] ?? ''] ?? (field || 'the message');
};

/** Each problem once: every notice of a message has the same content, so they repeat but for the recipient. */
const describe = (details: ErrorDetail[]): string => [...new Set(details.map((detail) => `${sourceOf(detail.path)} ${detail.message}`))].join('; ');

const isAboutRecipient = (detail: ErrorDetail): boolean => /^notices\[\d+\]\.to$/.test(detail.path);

/**
 * Whose a refusal is. `client`: what the client sent or did (the door logs it at INFO or WARN). `door`: the
 * store or the queue did not answer, or something unforeseen failed; the door logs it at ERROR, which the
 * SmtpDoorErrors alarm counts, since every ILS is being refused until it is fixed.
 */
export type Fault = 'client' | 'door';

/** A refusal: the reply, a log-safe reason, whose fault it is and, for the door's, the error's code. */
export interface Refusal {
  reply: SmtpReply;
  reason: string;
  fault: Fault;
  errorCode?: string;
}

/** The reply for a thrown error and a log-safe reason. Nothing was accepted when this is not a 2xx. */
export const replyFor = (error: unknown): Refusal => {
  const { reply: smtp, reason, errorCode: code } = clientOrDoor(error);
  return code === undefined ? { reply: smtp, reason, fault: 'client' } : { reply: smtp, reason, fault: 'door', errorCode: code };
};

/** The map itself: an `errorCode` marks a refusal as the door's fault. */
const clientOrDoor = (error: unknown): { reply: SmtpReply; reason: string; errorCode?: string } => {
  const name = error instanceof NoticeRelayError ? error.name : undefined;
  switch (name) {
    case 'SmtpRefusalError': {
      const e = error as SmtpRefusalError;
      return { reply: e.reply, reason: e.reason };
    }
    case 'ValidationError': {
      const e = error as ValidationError;
      if (e.details.length > 0 && e.details.every(isAboutRecipient)) {
        return { reply: reply(550, '5.1.3', `Bad recipient address: ${describe(e.details)}. Nothing was accepted.`), reason: 'bad_recipient' };
      }
      return { reply: reply(554, '5.6.0', `The message cannot become a notice: ${describe(e.details.filter((d) => !isAboutRecipient(d)))}. Nothing was accepted.`), reason: e.code };
    }
    case 'TooLargeError': {
      const e = error as TooLargeError;
      // Every notice of a message is the same size but for its recipient: the first says it.
      return { reply: reply(552, '5.3.4', `Message too big for a notice: ${describe(e.details.slice(0, 1)) || e.message}. Nothing was accepted.`), reason: e.code };
    }
    case 'RateLimitedError': {
      const e = error as RateLimitedError;
      return { reply: reply(451, '4.7.1', `Rate limit: ${e.message} Nothing was accepted.`), reason: 'rate_limited' };
    }
    case 'ConflictError': {
      const e = error as ConflictError;
      if (e.code === 'idempotency_key_reused') {
        return {
          reply: reply(554, '5.6.0', 'This Message-ID was accepted earlier, for one of these recipients, with other content: give a new message a new Message-ID. Nothing was accepted.'),
          reason: e.code,
        };
      }
      return { reply: reply(451, '4.3.0', 'The same message is being accepted on another connection; try again in a minute. Nothing was accepted.'), reason: e.code };
    }
    case 'UnauthorizedError':
      return { reply: reply(535, '5.7.8', "Authentication credentials invalid: the user name is the institution's id, the password one of its API keys."), reason: 'unauthorized' };
    case 'UnavailableError': {
      const cause = (error as Error).cause;
      return { reply: reply(451, '4.3.0', 'The store did not answer; nothing was accepted. Send the message again later.'), reason: 'unavailable', errorCode: errorCode(cause ?? error) };
    }
    default:
      // RFC 5321 §4.2.3: 451, "local error in processing"; the client keeps the message and tries again.
      return { reply: reply(451, '4.3.0', 'The notices could not be stored; nothing was accepted. Send the message again later.'), reason: 'not_stored', errorCode: errorCode(error) };
  }
};
