// A message the SMTP door received, as the notices POST /v1/notices would take
// (docs/integrator/smtp-door.md): one per envelope recipient, the same content for each. The From is checked here and
// replaced later by the configured sender, as the API does; what the ILS wrote there stays reachable as
// Reply-To. Nothing here touches the store: the notices go through the intake's own acceptNotices.
import { createHash } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { type EmailAddress, type ParsedMail, simpleParser } from 'mailparser';
import type { InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import { canonicalJson } from '../intake/accept-notices';
import { emailAddress } from '../validation';
import { reply, SmtpRefusalError } from './replies';

/** The headers the door reads (DESIGN §11), and the notice field each fills. */
export const NOTICE_HEADERS = {
  'x-notice-external-id': 'externalId',
  'x-notice-type': 'type',
  'x-notice-send-at': 'sendAt',
  'x-notice-expires-at': 'expiresAt',
} as const;

const HEADER_NAMES: Record<keyof typeof NOTICE_HEADERS, string> = {
  'x-notice-external-id': 'X-Notice-External-Id',
  'x-notice-type': 'X-Notice-Type',
  'x-notice-send-at': 'X-Notice-Send-At',
  'x-notice-expires-at': 'X-Notice-Expires-At',
};

/** The API's limit on externalId: a Message-ID longer than this is not made the default. */
const MAX_EXTERNAL_ID = 200;

/** The body POST /v1/notices would have been given, and the Idempotency-Key of each of its notices. */
export interface MessageSubmission {
  body: { notices: Array<Record<string, unknown>> };
  /** One per notice, in the order of `body.notices`: the message's Message-ID (or content) with that recipient. */
  idempotencyKeys: string[];
  /** Log-safe facts: never an address, a subject or a body. */
  facts: { recipients: number; attachments: number; messageId: boolean };
}

/**
 * Reads a message. mailparser copes with almost anything; what it cannot read at all is answered
 * 554 5.6.0. `cid:` links stay as they are: an inline image arrives as an attachment.
 */
export const parseMessage = async (raw: Buffer): Promise<ParsedMail> => {
  try {
    return await simpleParser(raw, { keepCidLinks: true, skipTextToHtml: true, checksumAlgo: false });
  } catch (error) {
    throw new SmtpRefusalError(reply(554, '5.6.0', 'The message could not be read as MIME (RFC 5322, RFC 2045). Nothing was accepted.'), 'unreadable', { cause: error });
  }
};

/** The mailboxes of an address header, groups flattened. */
const mailboxesOf = (addresses: EmailAddress[] | undefined): string[] =>
  (addresses ?? []).flatMap((entry) => (entry.group ? mailboxesOf(entry.group) : entry.address ? [entry.address] : []));

/** An address with its domain in the ASCII (xn--) form the API takes; mailparser decodes it to Unicode. */
const asciiAddress = (address: string): string => {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = domainToASCII(address.slice(at + 1));
  return domain ? `${address.slice(0, at)}@${domain}` : address;
};

/**
 * An envelope recipient as a notice's `to`: the domain in its ASCII form, and the API's address rule. A
 * UTF-8 local part (RFC 6531) is refused: the relays behind cannot be relied on to carry it.
 * @throws SmtpRefusalError 550 5.1.3 or 553 5.6.7, for that recipient alone.
 */
export const checkRecipient = (address: string): string => {
  const ascii = asciiAddress(address);
  if (/[^\x20-\x7e]/.test(ascii.slice(0, ascii.lastIndexOf('@')))) {
    throw new SmtpRefusalError(reply(553, '5.6.7', `<${ascii}>: a notice cannot go to an address with non-ASCII characters before the @.`), 'non_ascii_recipient');
  }
  if (!emailAddress.safeParse(ascii).success) {
    throw new SmtpRefusalError(reply(550, '5.1.3', `<${ascii}> is not an address a notice can go to (name@example.org).`), 'bad_recipient');
  }
  return ascii;
};

/** Whether `domain` is the institution's From domain or one under it (`circ.library.example.org`). */
const inDomain = (domain: string, allowed: string): boolean => domain === allowed || domain.endsWith(`.${allowed}`);

/**
 * The From must be in the institution's domain: the door sends as the institution, and a message that
 * claimed another domain would be an ILS set up wrongly, or someone else's mail. RFC 5322 §3.6 requires
 * one, so a message without it (or with no address in it) is refused as one with a foreign From is.
 */
const checkFrom = (parsed: ParsedMail, institution: InstitutionConfig): string => {
  const allowed = domainOf(institution.from.address);
  const from = mailboxesOf(parsed.from?.value).map(asciiAddress);
  if (from.length === 0) {
    throw new SmtpRefusalError(
      reply(550, '5.7.1', `The message has no From: a From in the institution's domain is required for ${institution.id}, an address @${allowed} (notices are sent as ${institution.from.address}).`),
      'from_missing',
    );
  }
  const foreign = from.find((address) => !inDomain(domainOf(address), allowed));
  if (foreign !== undefined) {
    throw new SmtpRefusalError(
      reply(550, '5.7.1', `From <${foreign}> is not allowed for ${institution.id}: use an address @${allowed} (notices are sent as ${institution.from.address}).`),
      'from_not_allowed',
    );
  }
  return from[0] as string;
};

/** The unfolded value of each header line, by lower-case name. */
const headerValues = (parsed: ParsedMail): Map<string, string[]> => {
  const values = new Map<string, string[]>();
  for (const { key, line } of parsed.headerLines) {
    const value = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]/g, ' ').trim();
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return values;
};

/** The X-Notice-* headers as notice fields; an unknown or repeated one is refused rather than ignored. */
const noticeHeaders = (parsed: ParsedMail): Record<string, string> => {
  const fields: Record<string, string> = {};
  const problems: string[] = [];
  for (const [key, values] of headerValues(parsed)) {
    if (!key.startsWith('x-notice-')) continue;
    const field = NOTICE_HEADERS[key as keyof typeof NOTICE_HEADERS];
    if (!field) {
      problems.push(`${key} is not a header the door reads (${Object.values(HEADER_NAMES).join(', ')})`);
    } else if (values.length > 1) {
      problems.push(`${HEADER_NAMES[key as keyof typeof NOTICE_HEADERS]} is given ${values.length} times`);
    } else {
      fields[field] = values[0] as string;
    }
  }
  if (problems.length > 0) throw new SmtpRefusalError(reply(554, '5.6.0', `The message cannot become a notice: ${problems.join('; ')}. Nothing was accepted.`), 'bad_notice_header');
  return fields;
};

const withoutUndefined = (fields: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/**
 * The message as notices, one per envelope recipient, each with an Idempotency-Key of its own: the
 * Message-ID with that recipient. A client that sends the message again after a lost 250, to the same
 * recipients or to some more or fewer, then creates only the notices not created yet (and a message
 * without a Message-ID is known again by its content).
 * @throws SmtpRefusalError for a missing From or one outside the institution's domain, or a bad X-Notice-* header.
 * @example
 * const { body, idempotencyKeys } = messageToNotices(await parseMessage(raw), ['patron@example.org'], institution);
 * await acceptNotices(deps, institution, body, idempotencyKeys);
 */
export const messageToNotices = (parsed: ParsedMail, recipients: readonly string[], institution: InstitutionConfig): MessageSubmission => {
  const from = checkFrom(parsed, institution);
  const headers = noticeHeaders(parsed);
  const replyTo = mailboxesOf(parsed.replyTo?.value).map(asciiAddress);
  if (replyTo.length > 1) {
    throw new SmtpRefusalError(reply(554, '5.6.0', `The message cannot become a notice: Reply-To names ${replyTo.length} addresses; a notice takes one. Nothing was accepted.`), 'bad_reply_to');
  }
  const messageId = parsed.messageId?.trim().replace(/^<|>$/g, '');
  const externalId = headers.externalId ?? (messageId && messageId.length <= MAX_EXTERNAL_ID ? messageId : undefined);
  const content = withoutUndefined({
    subject: parsed.subject,
    // Trailing blank lines are the client's line endings, not the notice's: a message sent again by
    // another client library is the same message.
    text: parsed.text?.trimEnd() || undefined,
    html: typeof parsed.html === 'string' ? parsed.html.trimEnd() || undefined : undefined,
    // The ILS's own From (a branch's circulation desk, say) answers the patron's reply, unless it named another.
    replyTo: replyTo[0] ?? (from.toLowerCase() !== institution.from.address ? from : undefined),
    ...headers,
    externalId,
    attachments: parsed.attachments.length
      ? parsed.attachments.map((attachment, index) => ({
          filename: (attachment.filename ?? '').replace(/^.*[/\\]/, '') || `attachment-${index + 1}`,
          contentType: attachment.contentType,
          contentBase64: attachment.content.toString('base64'),
        }))
      : undefined,
  });
  // A recipient named twice, in any case, is one notice; its key ignores the case (the notice's `to` keeps it).
  const byKey = new Map<string, string>();
  for (const recipient of recipients) if (!byKey.has(recipient.toLowerCase())) byKey.set(recipient.toLowerCase(), recipient);
  const keys = [...byKey.keys()].sort();
  const notices = keys.map((key) => ({ to: byKey.get(key) as string, ...content }));
  const keyOf = (recipient: string) =>
    `smtp-${createHash('sha256')
      .update(messageId ? `message-id\n${messageId}\n${recipient}` : `content\n${canonicalJson({ ...content, to: recipient })}`)
      .digest('hex')}`;
  return {
    body: { notices },
    idempotencyKeys: keys.map(keyOf),
    facts: { recipients: keys.length, attachments: parsed.attachments.length, messageId: Boolean(messageId) },
  };
};
