// The door's one map from the domain's errors to SMTP replies.
import { ConflictError, RateLimitedError, TooLargeError, UnavailableError, ValidationError } from '../../../../shared/errors';
import { replyFor } from '../../../../shared/submission/replies';

describe('Function: replyFor', () => {
  it('answers a bad recipient 550 5.1.3 and any other invalid field 554 5.6.0, naming the header to fix once', () => {
    // Prepare
    const recipient = new ValidationError('invalid', [{ path: 'notices[1].to', message: 'must be an email address like name@example.org' }]);
    const fields = new ValidationError('invalid', [
      { path: 'notices[0].sendAt', message: 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z' },
      { path: 'notices[1].sendAt', message: 'must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z' },
      { path: 'notices[0].subject', message: 'is required' },
      { path: 'notices[0].attachments[1].filename', message: 'must be a file name without a path' },
    ]);
    // Act, Assess
    expect(replyFor(recipient).reply).toEqual({ code: 550, status: '5.1.3', text: 'Bad recipient address: the recipient must be an email address like name@example.org. Nothing was accepted.' });
    expect(replyFor(fields)).toEqual({
      reply: {
        code: 554,
        status: '5.6.0',
        text: "The message cannot become a notice: X-Notice-Send-At must be an ISO 8601 date-time with a time zone, like 2030-01-31T09:00:00Z; Subject is required; attachment 2's filename must be a file name without a path. Nothing was accepted.",
      },
      reason: 'validation_failed',
      fault: 'client',
    });
  });

  it("answers size 552 5.3.4, the key rate 451 4.7.1, a store that did not answer 451 4.3.0, that one the door's fault, with the error's code", () => {
    expect(replyFor(new TooLargeError('A notice is at most 256 KiB', 'notice_too_large', [{ path: 'notices[0]', message: 'is 300000 bytes' }])).reply).toMatchObject({ code: 552, status: '5.3.4' });
    expect(replyFor(new RateLimitedError('This API key made 600 requests this minute, its limit. Retry after 12 s.', 12)).reply).toEqual({
      code: 451,
      status: '4.7.1',
      text: 'Rate limit: This API key made 600 requests this minute, its limit. Retry after 12 s. Nothing was accepted.',
    });
    expect(replyFor(new RateLimitedError('x', 12))).toMatchObject({ fault: 'client' });
    expect(replyFor(new UnavailableError('x', 5, { cause: Object.assign(new Error('gone'), { code: 'ECONNREFUSED' }) }))).toMatchObject({
      reply: { code: 451, status: '4.3.0' },
      reason: 'unavailable',
      fault: 'door',
      errorCode: 'ECONNREFUSED',
    });
  });

  it('refuses for good a Message-ID used again for other content, and asks to wait when the same message is in progress', () => {
    expect(replyFor(new ConflictError('x', 'idempotency_key_reused')).reply).toMatchObject({ code: 554, status: '5.6.0' });
    expect(replyFor(new ConflictError('x', 'idempotency_in_progress'))).toMatchObject({ reply: { code: 451, status: '4.3.0' }, fault: 'client' });
  });

  it("never repeats an unknown error's words: a fixed 451 4.3.0, the door's fault, with the error's code", () => {
    // Act
    const { reply, reason, fault, errorCode } = replyFor(Object.assign(new Error('socket hang up near patron@example.org'), { code: 'ECONNRESET' }));
    // Assess
    expect(reply).toEqual({ code: 451, status: '4.3.0', text: 'The notices could not be stored; nothing was accepted. Send the message again later.' });
    expect({ reason, fault, errorCode }).toEqual({ reason: 'not_stored', fault: 'door', errorCode: 'ECONNRESET' });
  });

  it('keeps a reply within the 512 octets of an SMTP reply line', () => {
    const long = new ValidationError('x', [{ path: 'notices[0].subject', message: 'x'.repeat(2000) }]);
    expect(replyFor(long).reply.text.length).toBeLessThanOrEqual(480);
  });
});
