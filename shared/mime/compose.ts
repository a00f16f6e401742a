// MIME composition: a notice becomes one RFC 5322 message, built once per attempt so that the primary
// relay, the backup and SES all receive the same bytes. Nodemailer's composer does the encoding.
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import type { InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import type { Notice, NoticeContent } from '../notice/model';
import { withCrlf } from './line-ends';
import { type ComposeOptions, envelopeSender, type OutgoingMessage } from './message';
import { composeReturnToSender } from './return-to-sender';

// Declared apart so the report's composer needs nothing of this one; the transports import them from here.
export type { ComposeOptions, OutgoingMessage } from './message';

/** The Message-ID of a notice: on the institution's own domain, stable across retries. */
export const messageIdOf = (noticeId: string, institution: InstitutionConfig): string => `<${noticeId}@${domainOf(institution.from.address)}>`;

export const buildMail = (options: Mail.Options & { baseBoundary?: string }): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    new MailComposer(options).compile().build((error, message) => (error ? reject(error) : resolve(withCrlf(message))));
  });

/**
 * Composes a notice (or, for a report that carries a return-to-sender report, that report; the daily
 * digest, a report with content of its own, is composed as a notice is).
 * @example
 * const message = await composeMessage(notice, content, institution, { now: clock.now() });
 */
export const composeMessage = async (notice: Notice, content: NoticeContent, institution: InstitutionConfig, options: ComposeOptions): Promise<OutgoingMessage> => {
  if (content.report) return composeReturnToSender(notice, content.report, institution, options);
  const messageId = messageIdOf(notice.id, institution);
  const raw = await buildMail({
    from: { name: institution.from.name ?? '', address: institution.from.address },
    to: content.to,
    cc: content.cc,
    replyTo: content.replyTo,
    subject: content.subject,
    text: content.text,
    html: content.html,
    attachments: content.attachments?.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      content: attachment.contentBase64,
      encoding: 'base64',
    })),
    messageId,
    date: options.now,
    headers: {
      // RFC 3834: an automatic message; out-of-office responders do not answer it.
      'Auto-Submitted': 'auto-generated',
      'X-Notice-Id': notice.id,
    },
    baseBoundary: options.baseBoundary,
    // Content comes from outside: it may never make the composer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    noticeId: notice.id,
    messageId,
    from: institution.from.text,
    // A copy a relay already took, in an attempt that failed for the patron, is not sent again.
    envelope: { from: envelopeSender(notice, institution), to: [content.to, ...(content.cc ?? []).filter((cc) => !notice.copiesSent?.includes(cc.toLowerCase()))] },
    raw,
  };
};
