// The return-to-sender report: an RFC 3464 `multipart/report; report-type=delivery-status` to the
// institution's bounceTo, which a person reads (part 1), software parses (part 2, the delivery status),
// and which carries the headers of the notice it reports (part 3).
import { encodeWord, encodeWords } from 'nodemailer/lib/mime-funcs';
import MimeNode from 'nodemailer/lib/mime-node';
import type { InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import type { HistoryEntry, Notice, ReturnToSenderReport } from '../notice/model';
import type { ComposeOptions, OutgoingMessage } from './message';

/** RFC 5322 date-time, as DSN fields use it. */
const rfc5322 = (iso: string): string => new Date(iso).toUTCString().replace('GMT', '+0000');

/** A field value on one line: DSN fields are header lines, and a server reply must not break them. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim();

const OUTCOMES: Record<ReturnToSenderReport['outcome'], string> = {
  failed: 'The recipient\'s mail system refused it permanently, so it was not retried.',
  discarded: 'It could not be delivered before its give-up time and was discarded.',
  bounced: 'It was sent, and the recipient\'s mail system then returned it as undeliverable.',
};

const lastReply = (attempts: HistoryEntry[]): HistoryEntry | undefined =>
  [...attempts].reverse().find((entry) => entry.outcome === 'transient' || entry.outcome === 'permanent' || entry.outcome === 'bounced');

/**
 * RFC 3463 status of the report: the last reply's enhanced code when it is permanent, 5.4.7 ("delivery
 * time expired") for a notice given up after retries, else 5.0.0.
 */
const statusOf = (report: ReturnToSenderReport): string => {
  const enhanced = lastReply(report.attempts)?.enhancedStatus;
  if (enhanced?.startsWith('5.')) return enhanced;
  return report.outcome === 'discarded' ? '5.4.7' : '5.0.0';
};

const describeAttempt = (entry: HistoryEntry, index: number): string => {
  const where = entry.transport && entry.server && entry.server !== entry.transport ? `${entry.transport} ${entry.server}` : entry.transport;
  const what = entry.message ? oneLine(entry.message) : [entry.code, entry.responseCode].filter(Boolean).join(' ');
  return `  ${index + 1}. ${[entry.at, entry.outcome, where, what].filter(Boolean).join('  ')}`;
};

const humanPart = (report: ReturnToSenderReport, institution: InstitutionConfig): string => {
  const reply = lastReply(report.attempts);
  return [
    `A notice from ${institution.name ?? institution.from.text} was not delivered.`,
    '',
    OUTCOMES[report.outcome],
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
    'Check the patron\'s address in the ILS, then send the notice again if it is still needed.',
    '',
  ].join('\n');
};

const deliveryStatusPart = (report: ReturnToSenderReport, institution: InstitutionConfig): string => {
  const reply = lastReply(report.attempts);
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
  const raw = await new Promise<Buffer>((resolve, reject) => root.build((error, message) => (error ? reject(error) : resolve(message))));
  // The report goes from the notices address, so that if it bounces too, the bounce does not land
  // back at bounceTo as another report to handle.
  return { noticeId: notice.id, messageId, from: institution.from.text, envelope: { from: institution.from.address, to: [notice.to] }, raw };
};
