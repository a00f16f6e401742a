// The return-to-sender report: an RFC 3464 `multipart/report; report-type=delivery-status` to the
// institution's bounceTo, which a person reads (part 1), software parses (part 2, the delivery status),
// and which carries the headers of the notice it reports (part 3).
import { encodeWord, encodeWords } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import type { InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import { lastReply } from '../notice/last-reply';
import type { HistoryEntry, Notice, ReturnToSenderReport } from '../notice/model';
import { outcomeOf } from '../transport/classify';
import { withCrlf } from './line-ends';
import { type ComposeOptions, envelopeSender, type OutgoingMessage } from './message';

/** RFC 5322 date-time, as DSN fields use it. */
const rfc5322 = (iso: string): string => new Date(iso).toUTCString().replace('GMT', '+0000');

/** A field value on one line: DSN fields are header lines, and a server reply must not break them. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim();

const OUTCOMES: Record<ReturnToSenderReport['outcome'], string> = {
  failed: 'The recipient\'s mail system refused it permanently, so it was not retried.',
  discarded: 'It could not be delivered before its give-up time and was discarded.',
  bounced: 'It was sent, and the recipient\'s mail system then returned it as undeliverable.',
};

/**
 * What held the notice back when the institution's own setup is to blame: the last entry of its history
 * with a code whose outcome is the institution's (an attempt it refused, or a hold while sending was
 * paused). Undefined when the last word was about the patron's address or the message.
 */
const setupBlamed = (report: ReturnToSenderReport): HistoryEntry | undefined => {
  if (report.outcome !== 'discarded') return undefined;
  const last = [...report.attempts].reverse().find((entry) => entry.code !== undefined && ['transient', 'permanent', 'deferred'].includes(entry.outcome));
  return last && outcomeOf(last.code).scope === 'institution' ? last : undefined;
};

/** An attempt whose outcome is unknown: the relay took the data and never confirmed it (EUNCONFIRMED). */
const maybeReceived = (report: ReturnToSenderReport): boolean => report.attempts.some((entry) => entry.code === 'EUNCONFIRMED');

/**
 * RFC 3463 status of the report: the last reply's enhanced code when it is permanent, 5.4.7 ("delivery
 * time expired") for a notice given up after retries or held by the institution's own setup (whose
 * refusal, a 5.7.8 to a login say, is not the patron's), else 5.0.0.
 */
const statusOf = (report: ReturnToSenderReport): string => {
  const enhanced = lastReply(report)?.enhancedStatus;
  if (enhanced?.startsWith('5.') && !setupBlamed(report)) return enhanced;
  return report.outcome === 'discarded' ? '5.4.7' : '5.0.0';
};

const describeAttempt = (entry: HistoryEntry, index: number): string => {
  const where = entry.transport && entry.server && entry.server !== entry.transport ? `${entry.transport} ${entry.server}` : entry.transport;
  const what = entry.message ? oneLine(entry.message) : [entry.code, entry.responseCode].filter(Boolean).join(' ');
  return `  ${index + 1}. ${[entry.at, entry.outcome, where, what].filter(Boolean).join('  ')}`;
};

const humanPart = (report: ReturnToSenderReport, institution: InstitutionConfig): string => {
  const reply = lastReply(report);
  const setup = setupBlamed(report);
  const unknown = maybeReceived(report);
  const why = setup
    ? [
        "It could not be sent before its give-up time because the library's own sending setup refused mail:",
        `${outcomeOf(setup.code).summary} (${setup.code}). The patron's address was not at fault.`,
      ]
    : [OUTCOMES[report.outcome]];
  return [
    `A notice from ${institution.name ?? institution.from.text} ${unknown ? 'may not have been' : 'was not'} delivered.`,
    '',
    ...why,
    ...(unknown
      ? ['', "The patron may have received it: the relay took the message's data in an attempt and never confirmed it, so that attempt's outcome is unknown."]
      : []),
    '',
    `Patron address:  ${report.recipient}`,
    `Subject:         ${report.subject}`,
    `Type:            ${report.type ?? '(none)'}`,
    `External id:     ${report.externalId ?? '(none)'}`,
    `Notice id:       ${report.noticeId}`,
    `Accepted:        ${report.createdAt}`,
    `Reason:          ${oneLine(report.reason)}`,
    `Last reply:      ${reply?.message ? oneLine(reply.message) : '(no server reply)'}`,
    '',
    `Attempts (${report.attempts.length}):`,
    ...(report.attempts.length ? report.attempts.map(describeAttempt) : ['  (none: the notice expired before it could be sent)']),
    '',
    setup
      ? 'Once IT has the sending working again (the transport status shows what refused it), send the notice again if it is still needed.'
      : 'Check the patron\'s address in the ILS, then send the notice again if it is still needed.',
    '',
  ].join('\n');
};

const deliveryStatusPart = (report: ReturnToSenderReport, institution: InstitutionConfig): string => {
  const reply = lastReply(report);
  const lastAttempt = [...report.attempts].reverse().find((entry) => entry.startedAt);
  const perMessage = [`Reporting-MTA: dns; ${domainOf(institution.from.address)}`, `X-Notice-Id: ${report.noticeId}`, `Arrival-Date: ${rfc5322(report.createdAt)}`];
  const perRecipient = [
    `Final-Recipient: rfc822; ${report.recipient}`,
    'Action: failed',
    `Status: ${statusOf(report)}`,
    ...(reply?.server && reply.transport === 'smtp' ? [`Remote-MTA: dns; ${reply.server.replace(/:\d+$/, '')}`] : []),
    ...(reply?.message ? [`Diagnostic-Code: ${reply.transport === 'ses' ? 'X-SES' : 'smtp'}; ${oneLine(reply.message)}`] : []),
    ...(lastAttempt?.startedAt ? [`Last-Attempt-Date: ${rfc5322(lastAttempt.startedAt)}`] : []),
  ];
  return `${perMessage.join('\r\n')}\r\n\r\n${perRecipient.join('\r\n')}\r\n`;
};

/**
 * One header line as a message's own header would carry it: non-ASCII words as RFC 2047 encoded words
 * (this part is not UTF-8 text), folded at spaces so no line runs past 76 characters, which keeps the
 * part free of any transfer encoding.
 */
const headerLine = (name: string, value: string): string => {
  // eslint-disable-next-line no-control-regex -- control characters never belong in a header
  const plain = value.replace(/[\r\n]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?').trim();
  // A long run without spaces cannot be folded as it is; as encoded words it can.
  const encoded = /\S{900}/.test(plain) ? encodeWord(plain, 'Q', 52) : encodeWords(plain, 'Q', 52);
  const lines = [`${name}:`];
  for (const word of encoded.split(' ')) {
    const last = lines.length - 1;
    if ((lines[last] as string).length + 1 + word.length > 76 && (lines[last] as string).trim().length > name.length + 1) lines.push(` ${word}`);
    else lines[last] += ` ${word}`;
  }
  return lines.join('\r\n');
};

/** The headers of the reported notice, as the third part carries them. */
const originalHeaders = (report: ReturnToSenderReport, institution: InstitutionConfig): string =>
  [
    headerLine('From', institution.from.text),
    `To: ${report.recipient}`,
    headerLine('Subject', report.subject),
    `Message-ID: <${report.noticeId}@${domainOf(institution.from.address)}>`,
    `X-Notice-Id: ${report.noticeId}`,
    '',
  ].join('\r\n');

/** Composes the report notice `notice` (of kind `report`) from its content's report. */
export const composeReturnToSender = async (notice: Notice, report: ReturnToSenderReport, institution: InstitutionConfig, options: ComposeOptions): Promise<OutgoingMessage> => {
  const messageId = `<${notice.id}@${domainOf(institution.from.address)}>`;
  const root = new MimeNode('multipart/report; report-type=delivery-status', { baseBoundary: options.baseBoundary } as ConstructorParameters<typeof MimeNode>[1]);
  root.setHeader({
    From: institution.from.text,
    To: notice.to,
    Subject: notice.subject,
    Date: options.now,
    'Message-ID': messageId,
    'Auto-Submitted': 'auto-generated',
    'X-Notice-Id': notice.id,
    'X-Notice-Report-For': report.noticeId,
  });
  root.createChild('text/plain; charset=utf-8').setContent(humanPart(report, institution));
  root.createChild('message/delivery-status').setContent(deliveryStatusPart(report, institution));
  root.createChild('text/rfc822-headers').setContent(originalHeaders(report, institution));
  const raw = await new Promise<Buffer>((resolve, reject) => root.build((error, message) => (error ? reject(error) : resolve(withCrlf(message)))));
  return { noticeId: notice.id, messageId, from: institution.from.text, envelope: { from: envelopeSender(notice, institution), to: [notice.to] }, raw };
};
