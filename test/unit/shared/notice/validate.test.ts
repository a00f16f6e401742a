import { TooLargeError, ValidationError } from '../../../../shared/errors';
import { MAX_BATCH_NOTICES, validateSubmission } from '../../../../shared/notice/validate';
import { aNoticeInput } from '../../../support/factories';

const NOW = new Date('2030-01-01T00:00:00Z');

const detailsOf = (body: unknown): Array<{ path: string; message: string }> => {
  try {
    validateSubmission(body, NOW);
  } catch (error) {
    if (error instanceof ValidationError || error instanceof TooLargeError) return error.details;
    throw error;
  }
  throw new Error('expected the submission to be refused');
};

describe('Function: validateSubmission', () => {
  it('accepts one notice and normalises it', () => {
    // Act
    const result = validateSubmission({ ...aNoticeInput(), cc: 'parent@example.org', sendAt: '2030-01-02T09:00:00+02:00' }, NOW);
    // Assess
    expect(result.batch).toBe(false);
    expect(result.notices).toEqual([{ ...aNoticeInput(), cc: ['parent@example.org'], sendAt: '2030-01-02T07:00:00.000Z' }]);
  });

  it('accepts a batch in order', () => {
    // Act
    const result = validateSubmission({ notices: [aNoticeInput({ externalId: 'a' }), aNoticeInput({ externalId: 'b', text: undefined, html: '<p>x</p>' })] }, NOW);
    // Assess
    expect(result.batch).toBe(true);
    expect(result.notices.map((n) => n.externalId)).toEqual(['a', 'b']);
  });

  it.each(["o'neil@library.example.org", 'a&b@example.org', 'joe!@example.org', 'patron@xn--e1afmkfd.xn--p1ai', 'a.b+c@library.example.edu'])('accepts the address %s', (to) => {
    expect(validateSubmission(aNoticeInput({ to }), NOW).notices[0]?.to).toBe(to);
  });

  it.each([
    ['to', { to: 'not-an-address' }, 'must be an email address like name@example.org'],
    ['to', { to: 'patron@bücher.de' }, 'must be an email address like name@example.org; write an international domain in its xn-- form'],
    ['to', { to: 'patron@localhost' }, 'must be an email address like name@example.org'],
    ['to', { to: 'patron@example.org\r\nBcc: all@example.org' }, 'must not contain CR or LF: rejected as header injection'],
    ['subject', { subject: 'Overdue\nBcc: all@example.org' }, 'must not contain CR or LF: rejected as header injection'],
    ['subject', { subject: '' }, 'must not be empty'],
    ['externalId', { externalId: '' }, 'must not be empty'],
    ['externalId', { externalId: 'x'.repeat(201) }, 'must be at most 200 characters'],
    ['subject', { subject: 'Bell\u0007' }, 'must not contain control characters'],
    ['replyTo', { replyTo: 'desk@example.org\nX-Evil: 1' }, 'must not contain CR or LF: rejected as header injection'],
    ['cc[1]', { cc: ['a@example.org', 'b@example.org\r\n'] }, 'must not contain CR or LF: rejected as header injection'],
    ['type', { type: 'overdue\r\nX: y' }, 'must not contain CR or LF: rejected as header injection'],
    ['externalId', { externalId: 'loan\n1' }, 'must not contain CR or LF: rejected as header injection'],
    ['attachments[0].filename', { attachments: [{ filename: 'a.pdf\r\nContent-Type: text/html', contentType: 'application/pdf', contentBase64: 'JVBERg==' }] }, 'must not contain CR or LF: rejected as header injection'],
    ['attachments[0].contentType', { attachments: [{ filename: 'a.pdf', contentType: 'application/pdf\nX: y', contentBase64: 'JVBERg==' }] }, 'must not contain CR or LF: rejected as header injection'],
    ['attachments[0].filename', { attachments: [{ filename: '../etc/passwd', contentType: 'text/plain', contentBase64: 'JVBERg==' }] }, 'must be a file name without a path'],
    ['attachments[0].contentBase64', { attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', contentBase64: 'not base64!' }] }, 'must be base64, padded with =, without line breaks'],
    ['text', { text: undefined, html: undefined }, 'a notice needs text, html or both'],
    ['sendAt', { sendAt: 'tomorrow' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['sendAt', { sendAt: '2030-01-02T09:00:00' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['expiresAt', { sendAt: '2030-01-03T00:00:00Z', expiresAt: '2030-01-02T00:00:00Z' }, 'must be later than sendAt'],
    ['sendAt', { sendAt: '9999-12-31T23:59:59Z' }, 'must be at most 366 days from now'],
    ['from', { from: 'someone@elsewhere.example.com' } as object, "is set by the institution's configuration: a notice cannot choose its sender"],
    ['bcc', { bcc: ['x@example.org'] } as object, 'is not a field of a notice'],
    ['cc', { cc: Array.from({ length: 11 }, (_, i) => `copy${i}@example.org`) }, 'takes at most 10 addresses'],
    ['to', { to: ['a@example.org', 'b@example.org'] } as object, 'must be a string, not a list'],
    ['subject', { subject: null } as object, 'must be a string, not null'],
    ['attachments', { attachments: {} } as object, 'must be a list, not an object'],
    ['cc', { cc: 5 } as object, 'must be a string or a list, not a number'],
    ['externalId', { externalId: 'loan\u001b1' }, 'must not contain control characters'],
    ['attachments[0].filename', { attachments: [{ filename: 'a\u007f.pdf', contentType: 'application/pdf', contentBase64: 'JVBERg==' }] }, 'must not contain control characters'],
    ['attachments[0].contentBase64', { attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', contentBase64: '' }] }, 'must not be empty'],
    ['attachments[0].contentBase64', { attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', contentBase64: 'JVBERg=' }] }, 'must be base64, padded with =, without line breaks'],
    ['attachments[0].contentBase64', { attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', contentBase64: 'JVB===' }] }, 'must be base64, padded with =, without line breaks'],
    ['attachments[0].contentType', { attachments: [{ filename: 'a.pdf', contentType: `application/${'x'.repeat(116)}`, contentBase64: 'JVBERg==' }] }, 'must be at most 127 characters'],
    ['sendAt', { sendAt: '2030-01-02T09:00Z' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['sendAt', { sendAt: '2030-01-02t09:00:00z' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['sendAt', { sendAt: '2030-01-02T09:00:00+0100' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['sendAt', { sendAt: '2030-02-29T09:00:00Z' }, 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z'],
    ['expiresAt', { expiresAt: '2030-01-02T09:00:00.0000000000000000000000Z' }, 'must be at most 40 characters'],
    ['to', { to: `${'a'.repeat(65)}@example.org` }, 'must be an email address like name@example.org'],
  ])('refuses a notice whose %s is wrong', (path, override, message) => {
    // Act
    const details = detailsOf({ ...aNoticeInput(), ...override });
    // Assess
    expect(details).toContainEqual({ path, message });
  });

  it('counts lengths in characters, as the OpenAPI document does, not in UTF-16 units', () => {
    // Act
    const atTheLimit = validateSubmission(aNoticeInput({ externalId: '\u{1F4DA}'.repeat(200) }), NOW);
    // Assess
    expect(atTheLimit.notices[0]?.externalId).toHaveLength(400);
    expect(detailsOf(aNoticeInput({ externalId: '\u{1F4DA}'.repeat(201) }))).toEqual([{ path: 'externalId', message: 'must be at most 200 characters' }]);
  });

  it('keeps a time within a day of year 9999 or 0000 at the last or first instant those years hold, so it stays a date-time', () => {
    // Act: an ILS's "never" in its own time zone, and the earliest time there is
    const [never] = validateSubmission(aNoticeInput({ expiresAt: '9999-12-31T23:59:59-05:00' }), NOW).notices;
    const [long] = validateSubmission(aNoticeInput({ sendAt: '0000-01-01T00:00:00+01:00', expiresAt: '0000-01-01T00:00:01Z' }), NOW).notices;
    // Assess
    expect(never?.expiresAt).toBe('9999-12-31T23:59:59.999Z');
    expect(long).toMatchObject({ sendAt: '0000-01-01T00:00:00.000Z', expiresAt: '0000-01-01T00:00:01.000Z' });
  });

  it('reports a missing field as required', () => {
    expect(detailsOf({ text: 'x' })).toEqual([
      { path: 'to', message: 'is required' },
      { path: 'subject', message: 'is required' },
    ]);
  });

  it('refuses a whole batch for one bad notice, naming it by index', () => {
    // Prepare
    const notices = [aNoticeInput(), aNoticeInput(), aNoticeInput(), aNoticeInput({ to: 'nobody' })];
    // Act
    const run = () => validateSubmission({ notices }, NOW);
    // Assess
    expect(run).toThrow('1 of 4 notices is invalid; nothing was accepted.');
    expect(detailsOf({ notices })).toEqual([{ path: 'notices[3].to', message: 'must be an email address like name@example.org' }]);
  });

  it('refuses a batch over 500 notices as too large', () => {
    // Prepare
    const notices = Array.from({ length: MAX_BATCH_NOTICES + 1 }, () => aNoticeInput());
    // Act / Assess
    expect(() => validateSubmission({ notices }, NOW)).toThrow(expect.objectContaining({ name: 'TooLargeError', code: 'batch_too_large' }));
  });

  it('refuses a notice over 256 KiB, naming it', () => {
    // Prepare
    const big = aNoticeInput({ text: 'x'.repeat(256 * 1024) });
    // Act
    const run = () => validateSubmission({ notices: [aNoticeInput(), big] }, NOW);
    // Assess
    expect(run).toThrow(expect.objectContaining({ name: 'TooLargeError', code: 'notice_too_large' }));
    expect(detailsOf({ notices: [aNoticeInput(), big] })).toEqual([{ path: 'notices[1]', message: expect.stringMatching(/^is \d+ bytes; a notice is at most 262144 bytes/) }]);
  });

  it.each([
    ['an array', []],
    ['a string', 'hello'],
    ['null', null],
    ['an empty batch', { notices: [] }],
    ['a batch with other keys', { notices: [aNoticeInput()], dryRun: true }],
  ])('refuses %s as the body', (_, body) => {
    expect(() => validateSubmission(body, NOW)).toThrow(ValidationError);
  });
});
