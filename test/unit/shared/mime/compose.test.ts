import { simpleParser } from 'mailparser';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeMessage } from '../../../../shared/mime/compose';
import type { NoticeContent } from '../../../../shared/notice/model';
import { aConfig, aNotice } from '../../../support/factories';

const institution = aConfig().institutions[0]!;
const NOW = new Date('2030-01-01T09:00:00Z');
const fixture = (name: string) => readFileSync(join(__dirname, '../../../support/fixtures', name), 'utf8');

const content = (overrides: Partial<NoticeContent> = {}): NoticeContent => ({
  to: 'patron@example.org',
  subject: 'Overdue: Les Misérables',
  text: 'Les Misérables was due on 3 March.',
  html: '<p><i>Les Misérables</i> was due on 3 March.</p>',
  ...overrides,
});

describe('Function: composeMessage', () => {
  it('composes a notice byte for byte: text and html alternatives, on the institution domain', async () => {
    // Act
    const message = await composeMessage(aNotice({ id: '01JB0000000000000000000001' }), content(), institution, { now: NOW, baseBoundary: 'test' });
    // Assess
    expect(message.raw.toString()).toBe(fixture('notice.eml'));
    expect(message.envelope).toEqual({ from: 'circulation@library.example.org', to: ['patron@example.org'] });
    expect(message.messageId).toBe('<01JB0000000000000000000001@library.example.org>');
    expect(message.from).toBe('Demo Public Library <notices@library.example.org>');
  });

  it('ends every line with CRLF, a multi-line text body included, as SES takes the bytes as they are', async () => {
    // Act
    const message = await composeMessage(aNotice(), content({ text: 'Dear patron,\nLes Misérables was due.\r\rThank you.\n', html: undefined }), institution, { now: NOW });
    // Assess
    expect(message.raw.toString('latin1')).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    expect((await simpleParser(message.raw)).text).toBe('Dear patron,\nLes Misérables was due.\n\nThank you.\n');
  });

  it('carries every field of the notice, as a mail reader parses them', async () => {
    // Prepare
    const attachments = [{ filename: 'fines.pdf', contentType: 'application/pdf', contentBase64: Buffer.from('%PDF-1.4 fines').toString('base64') }];
    // Act
    const message = await composeMessage(aNotice(), content({ cc: ['parent@example.org'], replyTo: 'desk@library.example.org', attachments }), institution, { now: NOW });
    const parsed = await simpleParser(message.raw);
    // Assess
    expect(parsed.from?.value).toEqual([{ name: 'Demo Public Library', address: 'notices@library.example.org' }]);
    expect(parsed.to).toMatchObject({ value: [{ address: 'patron@example.org' }] });
    expect(parsed.cc).toMatchObject({ value: [{ address: 'parent@example.org' }] });
    expect(parsed.replyTo).toMatchObject({ value: [{ address: 'desk@library.example.org' }] });
    expect(parsed.subject).toBe('Overdue: Les Misérables');
    expect(parsed.text?.trim()).toBe('Les Misérables was due on 3 March.');
    expect(parsed.html).toBe('<p><i>Les Misérables</i> was due on 3 March.</p>');
    expect(parsed.date).toEqual(NOW);
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([['fines.pdf', 'application/pdf', '%PDF-1.4 fines']]);
    expect(message.envelope.to).toEqual(['patron@example.org', 'parent@example.org']);
  });

  it('leaves out of the envelope, not the headers, a copy a relay already took', async () => {
    // Act
    const message = await composeMessage({ ...aNotice(), copiesSent: ['parent@example.org'] }, content({ cc: ['Parent@example.org', 'teacher@example.org'] }), institution, { now: NOW });
    const parsed = await simpleParser(message.raw);
    // Assess
    expect(message.envelope.to).toEqual(['patron@example.org', 'teacher@example.org']);
    expect(parsed.cc).toMatchObject({ value: [{ address: 'Parent@example.org' }, { address: 'teacher@example.org' }] });
  });

  it.each(["o'neil&family@library.example.org", 'joe!=x/y@example.org', 'patron@xn--e1afmkfd.xn--p1ai'])('addresses %s as given, in the header and the envelope', async (to) => {
    // Act
    const message = await composeMessage(aNotice(), content({ to }), institution, { now: NOW });
    // Assess: on the wire as given (a mail reader may show an xn-- domain in its own script)
    expect(message.raw.toString()).toMatch(new RegExp(`^To: ${to.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\r$`, 'm'));
    expect(message.envelope.to).toEqual([to]);
  });

  it.each([
    ['subject', { subject: 'Overdue\r\nBcc: everyone@example.org' }],
    ['reply-to', { replyTo: 'desk@library.example.org\r\nBcc: everyone@example.org' }],
    ['attachment name', { attachments: [{ filename: 'a.pdf\r\nBcc: everyone@example.org', contentType: 'application/pdf', contentBase64: 'JVBERg==' }] }],
  ])('never lets a line break in the %s become a header, even past validation', async (_, override) => {
    // Act
    const message = await composeMessage(aNotice(), content(override as Partial<NoticeContent>), institution, { now: NOW });
    const parsed = await simpleParser(message.raw);
    // Assess
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.bcc).toBeUndefined();
    expect(message.raw.toString()).not.toMatch(/^Bcc:/im);
  });

  it('never reads a file or a URL named by the content', async () => {
    // Act
    const message = await composeMessage(aNotice(), content({ html: '<img src="file:///etc/passwd">', attachments: [{ filename: 'x', contentType: 'text/plain', contentBase64: 'eA==' }] }), institution, { now: NOW });
    // Assess
    expect(message.raw.toString()).not.toContain('root:');
  });
});

describe('Function: composeMessage for a return-to-sender report', () => {
  const report = aNotice({ id: '01JB0000000000000000000009', kind: 'report', reportFor: '01JB0000000000000000000001', to: 'circulation@library.example.org', subject: 'Undelivered notice: Overdue: The Hobbit', type: 'return-to-sender' });
  const reportContent: NoticeContent = {
    to: 'circulation@library.example.org',
    subject: 'Undelivered notice: Overdue: The Hobbit',
    report: {
      noticeId: '01JB0000000000000000000001',
      outcome: 'failed',
      recipient: 'patron@example.org',
      subject: 'Overdue: The Hobbit',
      type: 'overdue',
      externalId: 'loan-81234',
      createdAt: '2030-01-01T00:00:00.000Z',
      attempts: [
        { at: '2030-01-01T00:00:31.000Z', startedAt: '2030-01-01T00:00:30.000Z', outcome: 'transient', status: 'retrying', transport: 'smtp', server: 'mail.example.org:587', responseCode: 451, enhancedStatus: '4.7.1', code: 'EENVELOPE', message: '451 4.7.1 Greylisted' },
        { at: '2030-01-01T00:05:01.000Z', startedAt: '2030-01-01T00:05:00.000Z', outcome: 'permanent', status: 'failed', transport: 'smtp', server: 'mail.example.org:587', responseCode: 550, enhancedStatus: '5.1.1', code: 'EENVELOPE', message: '550 5.1.1 <patron@example.org>: User unknown' },
      ],
      reason: '550 5.1.1 <patron@example.org>: User unknown',
    },
  };

  it('composes an RFC 3464 multipart/report byte for byte', async () => {
    // Act
    const message = await composeMessage(report, reportContent, institution, { now: NOW, baseBoundary: 'test' });
    // Assess
    expect(message.raw.toString()).toBe(fixture('return-to-sender.eml'));
    // A delivery report goes with the null envelope sender (RFC 3464, RFC 5321 §4.5.5): nothing bounces back to it.
    expect(message.envelope).toEqual({ from: '', to: ['circulation@library.example.org'] });
  });

  it('names the patron, the notice, every attempt and the last reply', async () => {
    // Act
    const parsed = await simpleParser((await composeMessage(report, reportContent, institution, { now: NOW })).raw);
    // Assess
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/report', params: { 'report-type': 'delivery-status' } });
    expect(parsed.text).toContain('Patron address:  patron@example.org');
    expect(parsed.text).toContain('External id:     loan-81234');
    expect(parsed.text).toContain('Attempts (2):');
    expect(parsed.text).toContain('451 4.7.1 Greylisted');
    expect(parsed.text).toContain('Last reply:      550 5.1.1 <patron@example.org>: User unknown');
  });

  it("carries the notice's non-ASCII headers as encoded words, folded, in the headers part", async () => {
    // Prepare
    const subject = `Überfällig: ${'Das Kapital, Band '.repeat(8)}`;
    const spanish = { ...institution, from: { ...institution.from, text: 'Biblioteca Pública <notices@library.example.org>' } };
    const content = { ...reportContent, report: { ...reportContent.report!, subject } };
    // Act
    const raw = (await composeMessage(report, content, spanish, { now: NOW })).raw.toString();
    const headersPart = raw.slice(raw.indexOf('Content-Type: text/rfc822-headers'));
    // Assess
    expect(headersPart).toContain('From: Biblioteca =?UTF-8?Q?P=C3=BAblica?= <notices@library.example.org>');
    expect(headersPart).toContain('Subject: =?UTF-8?Q?=C3=9Cberf=C3=A4llig=3A?= Das Kapital, Band');
    expect(headersPart).not.toMatch(/P\?blica|\?berf/);
    expect(Math.max(...headersPart.split('\r\n').map((line) => line.length))).toBeLessThanOrEqual(76);
  });

  it('ends every line of a report with CRLF', async () => {
    const message = await composeMessage(report, reportContent, institution, { now: NOW });
    expect(message.raw.toString('latin1')).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  });

  it("says the library's own setup stopped a notice it held until its give-up time, not the patron's address", async () => {
    // Prepare: the relay refused the login at the one attempt; the notice was held until it was discarded
    const held = {
      ...reportContent,
      report: {
        ...reportContent.report!,
        outcome: 'discarded' as const,
        attempts: [
          { at: '2030-01-01T00:00:31.000Z', startedAt: '2030-01-01T00:00:30.000Z', outcome: 'transient' as const, status: 'queued' as const, transport: 'smtp' as const, server: 'mail.example.org:587', responseCode: 535, enhancedStatus: '5.7.8', code: 'EAUTH', message: '535 5.7.8 Authentication credentials invalid' },
          { at: '2030-01-01T00:03:31.000Z', outcome: 'deferred' as const, status: 'queued' as const, code: 'EAUTH', message: "held while the institution's sending is paused (EAUTH: the relay refused the login)" },
          { at: '2030-01-05T04:00:00.000Z', outcome: 'discarded' as const, status: 'discarded' as const, message: 'not delivered within 100 hours of becoming due' },
        ],
      },
    };
    // Act
    const message = await composeMessage(report, held, institution, { now: NOW });
    const parsed = await simpleParser(message.raw);
    // Assess
    expect(parsed.text?.replace(/\s+/g, ' ')).toContain("because the library's own sending setup refused mail: the relay refused the login (EAUTH). The patron's address was not at fault.");
    expect(parsed.text).toContain('Once IT has the sending working again');
    expect(parsed.text).not.toContain("Check the patron's address");
    // The relay's 5.7.8 was about the library's login, not the patron: the report says the time ran out.
    expect(message.raw.toString()).toContain('Status: 5.4.7');
  });

  it('says the patron may have received a notice one of whose attempts went unconfirmed after its data', async () => {
    // Prepare
    const unconfirmed = {
      ...reportContent,
      report: {
        ...reportContent.report!,
        outcome: 'discarded' as const,
        attempts: [{ at: '2030-01-01T00:01:31.000Z', startedAt: '2030-01-01T00:00:31.000Z', outcome: 'transient' as const, status: 'retrying' as const, transport: 'smtp' as const, server: 'mail.example.org:587', code: 'EUNCONFIRMED', message: "the attempt's deadline passed after mail.example.org:587 took the message's data, before it confirmed it: the message may have arrived" }],
      },
    };
    // Act
    const parsed = await simpleParser((await composeMessage(report, unconfirmed, institution, { now: NOW })).raw);
    // Assess
    expect(parsed.text).toMatch(/^A notice from Demo Public Library may not have been delivered\./);
    expect(parsed.text).toContain('The patron may have received it');
  });

  it('reports a notice given up after retries as expired (5.4.7)', async () => {
    // Prepare
    const discarded = { ...reportContent, report: { ...reportContent.report!, outcome: 'discarded' as const, attempts: reportContent.report!.attempts.slice(0, 1) } };
    // Act
    const raw = (await composeMessage(report, discarded, institution, { now: NOW })).raw.toString();
    // Assess
    expect(raw).toContain('Status: 5.4.7');
    expect(raw).toContain('Diagnostic-Code: smtp; 451 4.7.1 Greylisted');
  });
});
