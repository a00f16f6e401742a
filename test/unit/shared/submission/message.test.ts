// A received message as notices: the From check, the X-Notice-* headers, Reply-To, and an Idempotency-Key
// that a message sent again maps onto.
import { buildMail } from '../../../../shared/mime/compose';
import { checkRecipient, messageToNotices, parseMessage } from '../../../../shared/submission/message';
import { SmtpRefusalError } from '../../../../shared/submission/replies';
import { aConfig } from '../../../support/factories';

const demo = aConfig().institutions[0]!;

/** A message as an ILS's mail library writes it. */
const aMessage = (options: Parameters<typeof buildMail>[0] = {}) =>
  buildMail({
    from: 'Circulation <circulation@library.example.org>',
    to: 'patron@example.org',
    subject: 'Overdue: The Hobbit',
    text: 'The Hobbit was due on 3 March.',
    messageId: '<loan-81234.1@ils.library.example.org>',
    date: new Date('2030-03-04T08:00:00Z'),
    ...options,
  });

const refusalOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof SmtpRefusalError) return { ...error.reply, reason: error.reason };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('Function: messageToNotices', () => {
  it('makes one notice per recipient with the subject, text, the Message-ID as externalId and the ILS From as Reply-To', async () => {
    // Prepare
    const parsed = await parseMessage(await aMessage({ html: '<p>The Hobbit was due.</p>' }));
    // Act
    const { body, facts } = messageToNotices(parsed, ['b@example.org', 'a@example.org'], demo);
    // Assess
    const content = {
      subject: 'Overdue: The Hobbit',
      text: 'The Hobbit was due on 3 March.',
      html: '<p>The Hobbit was due.</p>',
      replyTo: 'circulation@library.example.org',
      externalId: 'loan-81234.1@ils.library.example.org',
    };
    expect(body).toEqual({ notices: [{ to: 'a@example.org', ...content }, { to: 'b@example.org', ...content }] });
    expect(facts).toEqual({ recipients: 2, attachments: 0, messageId: true });
  });

  it('takes type, externalId, sendAt and expiresAt from the X-Notice-* headers, and attachments as they came', async () => {
    // Prepare
    const parsed = await parseMessage(
      await aMessage({
        headers: { 'X-Notice-Type': 'hold-pickup', 'X-Notice-External-Id': 'hold-5501', 'X-Notice-Send-At': '2030-03-05T09:00:00-05:00', 'X-Notice-Expires-At': '2030-03-08T20:00:00Z' },
        attachments: [{ filename: 'slip.pdf', content: Buffer.from('%PDF-1.4'), contentType: 'application/pdf' }, { filename: 'C:\\Reports\\list.csv', content: 'a,b', contentType: 'text/csv' }],
      }),
    );
    // Act
    const [notice] = messageToNotices(parsed, ['patron@example.org'], demo).body.notices;
    // Assess
    expect(notice).toMatchObject({ type: 'hold-pickup', externalId: 'hold-5501', sendAt: '2030-03-05T09:00:00-05:00', expiresAt: '2030-03-08T20:00:00Z' });
    expect(notice?.attachments).toEqual([
      { filename: 'slip.pdf', contentType: 'application/pdf', contentBase64: Buffer.from('%PDF-1.4').toString('base64') },
      { filename: 'list.csv', contentType: 'text/csv', contentBase64: Buffer.from('a,b').toString('base64') },
    ]);
  });

  it('names an attachment that came without a name', async () => {
    // Prepare: a part with no filename at all, which mail libraries would otherwise name themselves
    const raw = [
      'From: circulation@library.example.org',
      'Subject: Report',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'See the list.',
      '--b',
      'Content-Type: text/csv',
      'Content-Disposition: attachment',
      '',
      'a,b',
      '--b--',
      '',
    ].join('\r\n');
    // Act
    const [notice] = messageToNotices(await parseMessage(Buffer.from(raw)), ['p@example.org'], demo).body.notices;
    // Assess
    expect(notice?.attachments).toEqual([{ filename: 'attachment-1', contentType: 'text/csv', contentBase64: expect.any(String) }]);
  });

  it('keeps a Reply-To the ILS gave, and sets none when the ILS wrote the configured sender itself', async () => {
    // Act
    const given = messageToNotices(await parseMessage(await aMessage({ replyTo: 'desk@branch.library.example.org' })), ['p@example.org'], demo);
    const same = messageToNotices(await parseMessage(await aMessage({ from: 'NOTICES@library.example.org' })), ['p@example.org'], demo);
    // Assess
    expect(given.body.notices[0]?.replyTo).toBe('desk@branch.library.example.org');
    expect(same.body.notices[0]).not.toHaveProperty('replyTo');
  });

  it('accepts a From on a subdomain of the institution, and refuses any other with 550 5.7.1 naming the domain allowed', async () => {
    // Prepare
    const subdomain = await parseMessage(await aMessage({ from: 'circ@branch.library.example.org' }));
    const lookalike = await parseMessage(await aMessage({ from: 'circ@evil-library.example.org' }));
    // Act, Assess
    expect(() => messageToNotices(subdomain, ['p@example.org'], demo)).not.toThrow();
    expect(refusalOf(() => messageToNotices(lookalike, ['p@example.org'], demo))).toEqual({
      code: 550,
      status: '5.7.1',
      text: 'From <circ@evil-library.example.org> is not allowed for demo: use an address @library.example.org (notices are sent as notices@library.example.org).',
      reason: 'from_not_allowed',
    });
  });

  it("refuses a message without a From, or whose From holds no address, with 550 5.7.1 asking for one in the institution's domain", async () => {
    // Prepare
    const withoutFrom = await parseMessage(Buffer.from((await aMessage()).toString().replace(/^From: .*\r\n/m, '')));
    const emptyGroup = await parseMessage(Buffer.from((await aMessage()).toString().replace(/^From: .*\r\n/m, 'From: undisclosed-recipients:;\r\n')));
    // Act, Assess
    const expected = {
      code: 550,
      status: '5.7.1',
      text: "The message has no From: a From in the institution's domain is required for demo, an address @library.example.org (notices are sent as notices@library.example.org).",
      reason: 'from_missing',
    };
    expect(refusalOf(() => messageToNotices(withoutFrom, ['p@example.org'], demo))).toEqual(expected);
    expect(refusalOf(() => messageToNotices(emptyGroup, ['p@example.org'], demo))).toEqual(expected);
  });

  it('refuses an unknown or repeated X-Notice-* header, and a Reply-To of two addresses, with 554 5.6.0', async () => {
    // Prepare
    const typo = await parseMessage(await aMessage({ headers: { 'X-Notice-SendAt': '2030-03-05T09:00:00Z' } }));
    const twice = await parseMessage(await aMessage({ headers: { 'X-Notice-Type': ['overdue', 'fine'] } }));
    const twoReplyTo = await parseMessage(await aMessage({ replyTo: ['a@library.example.org', 'b@library.example.org'] }));
    // Act, Assess
    expect(refusalOf(() => messageToNotices(typo, ['p@example.org'], demo))).toMatchObject({ code: 554, status: '5.6.0', text: expect.stringContaining('x-notice-sendat is not a header the door reads') });
    expect(refusalOf(() => messageToNotices(twice, ['p@example.org'], demo))).toMatchObject({ code: 554, text: expect.stringContaining('X-Notice-Type is given 2 times') });
    expect(refusalOf(() => messageToNotices(twoReplyTo, ['p@example.org'], demo))).toMatchObject({ code: 554, text: expect.stringContaining('Reply-To names 2 addresses') });
  });

  it('gives each recipient of a message its own Idempotency-Key, the same whatever the other recipients, their order or case', async () => {
    // Prepare
    const parsed = await parseMessage(await aMessage());
    const again = await parseMessage(await aMessage({ date: new Date('2030-03-04T09:30:00Z') }));
    const other = await parseMessage(await aMessage({ messageId: '<loan-81234.2@ils.library.example.org>' }));
    // Act
    const first = messageToNotices(parsed, ['a@example.org', 'B@example.org'], demo);
    const resent = messageToNotices(again, ['c@example.org', 'b@example.org', 'a@example.org'], demo);
    const fewer = messageToNotices(parsed, ['a@example.org'], demo);
    const anotherMessage = messageToNotices(other, ['a@example.org'], demo);
    // Assess: a key per notice, in the order of the notices
    expect(first.body.notices.map((notice) => notice.to)).toEqual(['a@example.org', 'B@example.org']);
    expect(resent.body.notices.map((notice) => notice.to)).toEqual(['a@example.org', 'b@example.org', 'c@example.org']);
    expect(first.idempotencyKeys).toHaveLength(2);
    for (const key of first.idempotencyKeys) expect(key).toMatch(/^smtp-[0-9a-f]{64}$/);
    expect(resent.idempotencyKeys.slice(0, 2)).toEqual(first.idempotencyKeys);
    expect(first.idempotencyKeys).not.toContain(resent.idempotencyKeys[2]);
    expect(fewer.idempotencyKeys).toEqual([first.idempotencyKeys[0]]);
    expect(anotherMessage.idempotencyKeys[0]).not.toBe(first.idempotencyKeys[0]);
  });

  it('knows a message without a Message-ID again by its content and envelope, not its bytes', async () => {
    // Prepare: two copies built apart (another boundary, another date), and another message
    const build = async (text: string, date: string) =>
      Buffer.from((await aMessage({ text, html: `<p>${text}</p>`, date: new Date(date) })).toString().replace(/^Message-ID: .*\r\n/m, ''));
    const copy1 = await parseMessage(await build('Due on Friday.', '2030-03-04T08:00:00Z'));
    const copy2 = await parseMessage(await build('Due on Friday.', '2030-03-04T08:05:00Z'));
    const other = await parseMessage(await build('Due on Monday.', '2030-03-04T08:00:00Z'));
    // Act
    const keys = [copy1, copy2, other].map((parsed) => messageToNotices(parsed, ['p@example.org'], demo).idempotencyKeys[0]);
    // Assess
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });
});

describe('Function: checkRecipient', () => {
  it('writes an international domain in its xn-- form, and refuses what no notice can go to', () => {
    expect(checkRecipient('lecteur@bibliothèque.example')).toBe('lecteur@xn--bibliothque-59a.example');
    expect(refusalOf(() => checkRecipient('patron@localhost'))).toMatchObject({ code: 550, status: '5.1.3' });
    expect(refusalOf(() => checkRecipient('josé@example.org'))).toMatchObject({ code: 553, status: '5.6.7' });
  });
});
