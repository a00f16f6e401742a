import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeliveryError } from '../../../../shared/errors';
import {
  classifySesEvent,
  classifySesFailure,
  classifySmtpFailure,
  deliveryFailure,
  enhancedStatusOf,
  isConnectionFailure,
  isTlsUnavailable,
  OUTCOMES,
  outcomeOf,
  refusalSignature,
  SES_ERROR_NAMES,
} from '../../../../shared/transport/classify';

const SERVER = 'mail.example.org:587';
const nodemailerError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? fields.response ?? 'error')), fields);

describe('Catalogue: OUTCOMES', () => {
  it('gives every code one scope and one verdict, and only the setup a pause', () => {
    for (const outcome of Object.values(OUTCOMES)) {
      expect(['recipient', 'message', 'institution']).toContain(outcome.scope);
      expect(['transient', 'permanent']).toContain(outcome.verdict);
      expect(outcome.summary.length).toBeGreaterThan(10);
      // Only the patron's address or the message may fail a notice; the setup pauses the institution instead.
      if (outcome.scope === 'institution') expect(outcome).toMatchObject({ verdict: 'transient', pause: expect.stringMatching(/^(probe|throttle|quota)$/) });
      else expect(outcome.pause).toBeUndefined();
    }
  });

  it('is the list the troubleshooting page is keyed by, code for code', () => {
    // Prepare
    const page = readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'it', 'troubleshooting.md'), 'utf8');
    const section = /\n## What each code means\n([\s\S]*?)(\n## |$)/.exec(page)?.[1] ?? '';
    // Act
    const documented = new Set([...section.matchAll(/`(E[A-Z0-9]+)`/g)].map((match) => match[1]));
    // Assess
    expect(section).not.toBe('');
    expect([...documented].sort()).toEqual(Object.keys(OUTCOMES).sort());
  });

  it('names an unknown code (one an older version recorded) as EUNKNOWN', () => {
    expect(outcomeOf('EENVELOPE')).toBe(OUTCOMES.EUNKNOWN);
    expect(outcomeOf('EAUTH')).toBe(OUTCOMES.EAUTH);
  });

  it('builds a failure whose code, scope and verdict come from the catalogue alone', () => {
    // Act
    const error = deliveryFailure('ERELAYDENIED', '554 5.7.1 Relay access denied', { transport: 'smtp', server: SERVER, responseCode: 554 });
    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ scope: 'institution', verdict: 'transient', facts: { code: 'ERELAYDENIED', responseCode: 554 } });
  });
});

describe('Function: classifySmtpFailure', () => {
  it.each([
    // [what, Nodemailer's error fields, code, scope, verdict]
    ['connection refused', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, 'ECONNECTION', 'institution', 'transient'],
    ['connection timeout', { code: 'ETIMEDOUT', command: 'CONN' }, 'ETIMEDOUT', 'message', 'transient'],
    ['DNS failure', { code: 'EDNS', command: 'CONN' }, 'EDNS', 'institution', 'transient'],
    ['a 421 greeting', { code: 'ECONNECTION', response: '421 Service not available', responseCode: 421, command: 'CONN' }, 'ETEMPFAIL', 'institution', 'transient'],
    ['a 421 4.3.2 greeting', { code: 'ECONNECTION', response: '421 4.3.2 Service not available', responseCode: 421, command: 'CONN' }, 'ETHROTTLED', 'institution', 'transient'],
    ['no STARTTLS', { code: 'ETLS', command: 'EHLO' }, 'ETLS', 'institution', 'transient'],
    ['an untrusted certificate', { code: 'ESOCKET', originalCode: 'SELF_SIGNED_CERT_IN_CHAIN', command: 'CONN' }, 'ETLS', 'institution', 'transient'],
    ['the attempt deadline before the data', { code: 'EABORT', command: 'RCPT TO' }, 'ETIMEDOUT', 'message', 'transient'],
    ['the attempt deadline after the data', { code: 'EABORT', command: 'DATA' }, 'EUNCONFIRMED', 'message', 'transient'],
    ['535 bad credentials', { code: 'EAUTH', response: '535 5.7.8 Authentication credentials invalid', responseCode: 535, command: 'AUTH PLAIN' }, 'EAUTH', 'institution', 'transient'],
    ['534 a stronger mechanism required', { code: 'EAUTH', response: '534 5.7.9 Please log in with your web browser', responseCode: 534, command: 'AUTH LOGIN' }, 'EAUTH', 'institution', 'transient'],
    ['454 4.7.0 temporary authentication failure', { code: 'EAUTH', response: '454 4.7.0 Temporary authentication failure', responseCode: 454, command: 'AUTH PLAIN' }, 'EAUTH', 'institution', 'transient'],
    ['a password missing', { code: 'ENOAUTH' }, 'ENOAUTH', 'institution', 'transient'],
    ['530 login required at MAIL FROM', { code: 'EENVELOPE', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'MAIL FROM' }, 'EAUTHREQUIRED', 'institution', 'transient'],
    ['530 login required at RCPT TO', { code: 'EENVELOPE', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'RCPT TO' }, 'EAUTHREQUIRED', 'institution', 'transient'],
    ['554 5.7.1 relay access denied at RCPT TO', { code: 'EENVELOPE', response: '554 5.7.1 <patron@example.org>: Relay access denied', responseCode: 554, command: 'RCPT TO' }, 'ERELAYDENIED', 'institution', 'transient'],
    ["Postfix's 454 4.7.1 relay access denied at RCPT TO (defer_unauth_destination, soft_bounce)", { code: 'EENVELOPE', response: '454 4.7.1 <patron@example.org>: Relay access denied', responseCode: 454, command: 'RCPT TO' }, 'ERELAYDENIED', 'institution', 'transient'],
    ['451 4.7.1 relaying denied at RCPT TO', { code: 'EENVELOPE', response: '451 4.7.1 Relaying denied. Proper authentication required.', responseCode: 451, command: 'RCPT TO' }, 'ERELAYDENIED', 'institution', 'transient'],
    ['550 5.7.1 unable to relay at RCPT TO', { code: 'EENVELOPE', response: '550 5.7.1 Unable to relay', responseCode: 550, command: 'RCPT TO' }, 'ERELAYDENIED', 'institution', 'transient'],
    ['553 sender refused at MAIL FROM', { code: 'EENVELOPE', response: '553 5.7.1 Sender address rejected: not owned by user', responseCode: 553, command: 'MAIL FROM' }, 'ESENDER', 'institution', 'transient'],
    ["Microsoft 365's SendAsDenied after the data", { code: 'EMESSAGE', response: '554 5.2.252 SendAsDenied; notices@library.example.org not allowed to send as circ@library.example.org', responseCode: 554, command: 'DATA' }, 'ESENDER', 'institution', 'transient'],
    ['451 at MAIL FROM', { code: 'EENVELOPE', response: '451 4.3.0 Temporary lookup failure', responseCode: 451, command: 'MAIL FROM' }, 'ETEMPFAIL', 'institution', 'transient'],
    ['451 4.7.0 at MAIL FROM (the relay throttles the sender)', { code: 'EENVELOPE', response: '451 4.7.0 Temporary server error, try again later', responseCode: 451, command: 'MAIL FROM' }, 'ETHROTTLED', 'institution', 'transient'],
    ["Gmail's 421 4.7.0 rate limit", { code: 'EENVELOPE', response: '421 4.7.0 Try again later, closing connection', responseCode: 421, command: 'RCPT TO' }, 'ETHROTTLED', 'institution', 'transient'],
    ['452 too many recipients', { code: 'EENVELOPE', response: '452 4.5.3 Too many recipients', responseCode: 452, command: 'RCPT TO' }, 'ETHROTTLED', 'institution', 'transient'],
    ["Gmail's daily limit", { code: 'EENVELOPE', response: '550 5.4.5 Daily user sending limit exceeded', responseCode: 550, command: 'RCPT TO' }, 'EQUOTA', 'institution', 'transient'],
    ["Microsoft 365's quota", { code: 'EMESSAGE', response: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException', responseCode: 554, command: 'DATA' }, 'EQUOTA', 'institution', 'transient'],
    ['503 bad sequence at RCPT TO', { code: 'EENVELOPE', response: '503 5.5.1 Error: need MAIL command', responseCode: 503, command: 'RCPT TO' }, 'EPROTOCOL', 'institution', 'transient'],
    ['a 5xx to EHLO', { code: 'EPROTOCOL', response: '550 5.7.0 Access denied', responseCode: 550, command: 'EHLO' }, 'EPROTOCOL', 'institution', 'transient'],
    ['451 greylisting of one recipient', { code: 'EENVELOPE', response: '451 4.7.1 Greylisted', responseCode: 451, command: 'RCPT TO' }, 'ERECIPIENTLATER', 'recipient', 'transient'],
    ['450 mailbox busy', { code: 'EENVELOPE', response: '450 4.2.1 Mailbox busy', responseCode: 450, command: 'RCPT TO' }, 'ERECIPIENTLATER', 'recipient', 'transient'],
    ['550 unknown user', { code: 'EENVELOPE', response: '550 5.1.1 User unknown', responseCode: 550, command: 'RCPT TO' }, 'ERECIPIENT', 'recipient', 'permanent'],
    ['553 bad address syntax', { code: 'EENVELOPE', response: '553 5.1.3 Invalid recipient address syntax', responseCode: 553, command: 'RCPT TO' }, 'ERECIPIENT', 'recipient', 'permanent'],
    ['554 rejected content', { code: 'EMESSAGE', response: '554 5.6.0 Message rejected', responseCode: 554, command: 'DATA' }, 'EMESSAGE', 'message', 'permanent'],
    ['451 after the data', { code: 'EMESSAGE', response: '451 4.3.0 Queue file write error', responseCode: 451, command: 'DATA' }, 'EMESSAGELATER', 'message', 'transient'],
    ['the connection lost during the envelope', { code: 'ECONNECTION', command: 'RCPT TO' }, 'ELOST', 'message', 'transient'],
    ['the connection lost after the data', { code: 'ECONNECTION', command: 'DATA' }, 'EUNCONFIRMED', 'message', 'transient'],
    ['an unknown error', { code: 'EWHATEVER' }, 'EUNKNOWN', 'message', 'transient'],
  ])('classifies %s', (_, fields, code, scope, verdict) => {
    // Act
    const error = classifySmtpFailure(nodemailerError(fields), SERVER);
    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ scope, verdict, facts: { transport: 'smtp', server: SERVER, code } });
  });

  it('keeps the copies a relay accepted while it refused the patron', () => {
    const error = classifySmtpFailure(nodemailerError({ code: 'EENVELOPE', response: '450 4.2.1 Mailbox busy', responseCode: 450, command: 'RCPT TO', copiesAccepted: ['guardian@example.org'] }), SERVER);
    expect(error.facts).toMatchObject({ code: 'ERECIPIENTLATER', enhancedStatus: '4.2.1', copiesAccepted: ['guardian@example.org'] });
  });

  it('keeps the server reply as the message and the original error as the cause', () => {
    // Prepare
    const original = nodemailerError({ code: 'EENVELOPE', response: '550 5.1.1 User unknown', responseCode: 550, command: 'RCPT TO' });
    // Act
    const error = classifySmtpFailure(original, SERVER);
    // Assess
    expect(error.message).toBe('550 5.1.1 User unknown');
    expect(error.cause).toBe(original);
  });

  it('says that a message whose data went out unconfirmed may have arrived', () => {
    expect(classifySmtpFailure(nodemailerError({ code: 'EABORT', command: 'DATA' }), SERVER).message).toMatch(/may have arrived$/);
    expect(classifySmtpFailure(nodemailerError({ code: 'ECONNECTION', command: 'DATA' }), SERVER).message).toMatch(/before confirming it: the message may have arrived$/);
  });
});

describe('Function: isConnectionFailure', () => {
  it.each([
    [{ code: 'ESOCKET', command: 'CONN' }, true],
    [{ code: 'ETIMEDOUT', command: 'CONN' }, true],
    [{ code: 'ETLS', command: 'CONN' }, true],
    [{ code: 'ECONNECTION', response: '421 Too busy', responseCode: 421, command: 'CONN' }, true],
    [{ code: 'ETIMEDOUT', command: 'DATA' }, false],
    // The SMTP transport marks a connection lost after the server asked for the data.
    [{ code: 'ECONNECTION', command: 'DATA' }, false],
    [{ code: 'ECONNECTION', command: 'RCPT TO' }, false],
    [{ code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO' }, false],
    [{ code: 'EAUTH', responseCode: 535, command: 'AUTH PLAIN' }, false],
  ])('answers whether %p lets the backup server try', (fields, expected) => {
    expect(isConnectionFailure(nodemailerError(fields))).toBe(expected);
  });
});

describe('Function: isTlsUnavailable', () => {
  it.each([
    [{ code: 'ETLS' }, true],
    [{ code: 'ESOCKET', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID' }, true],
    [{ code: 'ESOCKET', originalCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, true],
    [{ code: 'ESOCKET', message: 'C0:…:SSL routines:ssl3_get_record:wrong version number' }, true],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, false],
    [{ code: 'EENVELOPE', responseCode: 550 }, false],
  ])('answers whether %p means TLS cannot be made', (fields, expected) => {
    expect(isTlsUnavailable(nodemailerError(fields))).toBe(expected);
  });
});

describe('Function: enhancedStatusOf', () => {
  it('reads the RFC 3463 code at the start of a reply', () => {
    expect(enhancedStatusOf('550 5.1.1 <a@b>: User unknown')).toBe('5.1.1');
    expect(enhancedStatusOf('250-2.0.0 OK')).toBe('2.0.0');
    expect(enhancedStatusOf('550 User unknown 5.1.1')).toBeUndefined();
    expect(enhancedStatusOf(undefined)).toBeUndefined();
  });
});

describe('Function: classifySesFailure', () => {
  const sesError = (name: string, message = `${name} happened`, fault: 'client' | 'server' = 'client') => Object.assign(new Error(message), { name, $fault: fault });

  it.each([
    ['Throttling', 'Maximum sending rate exceeded.', 'ETHROTTLED', 'institution'],
    ['Throttling', 'Daily message quota exceeded.', 'EQUOTA', 'institution'],
    ['TooManyRequestsException', 'Too many requests', 'ETHROTTLED', 'institution'],
    ['LimitExceededException', 'Limit exceeded', 'ETHROTTLED', 'institution'],
    ['MessageRejected', 'Email address is not verified. The following identities failed the check in region US-EAST-1: notices@library.example.org', 'ESESNOTVERIFIED', 'institution'],
    ['MessageRejected', 'Message length is more than 10485760 bytes long.', 'ESESREJECTED', 'message'],
    ['InvalidParameterValue', 'Illegal address', 'ESESREJECTED', 'message'],
    ['MailFromDomainNotVerifiedException', 'MAIL FROM domain not verified', 'ESESMAILFROM', 'institution'],
    ['AccountSendingPausedException', 'Sending paused for this account.', 'ESESPAUSED', 'institution'],
    ['ConfigurationSetSendingPausedException', 'Sending paused for this configuration set.', 'ESESPAUSED', 'institution'],
    ['ConfigurationSetDoesNotExistException', 'Configuration set does not exist', 'ECONFIG', 'institution'],
    ['AccessDenied', 'User is not authorized to perform ses:SendRawEmail', 'ESESACCESS', 'institution'],
    ['AccessDeniedException', 'not authorized', 'ESESACCESS', 'institution'],
    ['InvalidClientTokenId', 'The security token included in the request is invalid.', 'ESESACCESS', 'institution'],
    ['ServiceUnavailable', 'Service unavailable', 'ESESUNAVAILABLE', 'institution'],
    ['TimeoutError', 'socket hang up', 'EUNCONFIRMED', 'message'],
    ['SomethingNew', 'what is this', 'EUNKNOWN', 'message'],
  ])('classifies %s (%s) as %s', (name, message, code, scope) => {
    // Act
    const error = classifySesFailure(sesError(name, message));
    // Assess
    expect(error).toMatchObject({ scope, facts: { transport: 'ses', server: 'ses', code, command: name } });
    expect(error.message).toBe(`${name}: ${message}${code === 'EUNCONFIRMED' ? ' (SES may have taken the message)' : ''}`);
  });

  it('knows a code for every SES error name it lists', () => {
    for (const name of SES_ERROR_NAMES) expect(classifySesFailure(sesError(name)).facts.code).not.toBe('EUNKNOWN');
  });

  it("treats a fault of SES's own as SES unavailable whatever its name", () => {
    expect(classifySesFailure(sesError('MessageRejected', 'oops', 'server'))).toMatchObject({ scope: 'institution', facts: { code: 'ESESUNAVAILABLE' } });
  });
});

describe('Function: classifySesEvent', () => {
  it.each([
    ['Delivery', { concernsPatron: true }, { becomes: 'delivered' }],
    ['Delivery', { concernsPatron: false }, {}],
    ['Bounce', { bounceType: 'Permanent', concernsPatron: true }, { becomes: 'bounced', code: 'EBOUNCED' }],
    ['Bounce', { bounceType: 'Permanent', concernsPatron: false }, {}],
    ['Bounce', { bounceType: 'Transient', concernsPatron: true }, {}],
    ['Complaint', { concernsPatron: true }, { becomes: 'complained' }],
    ['Reject', { concernsPatron: true }, { becomes: 'bounced', code: 'EREJECTED' }],
    ['DeliveryDelay', { concernsPatron: true }, {}],
    ['Open', { concernsPatron: true }, undefined],
  ])('judges %s (%p) as %p', (eventType, details, verdict) => {
    expect(classifySesEvent(eventType, details)).toEqual(verdict);
  });
});

describe('Function: refusalSignature', () => {
  const refusal = (reply: string, command = 'RCPT TO') => classifySmtpFailure(nodemailerError({ code: 'EENVELOPE', response: reply, responseCode: Number(reply.slice(0, 3)), command }), SERVER);

  it('is the same for one reply to different patrons, whatever names them', () => {
    expect(refusalSignature(refusal('550 5.1.1 <a@example.org>: Recipient address rejected: queue 4F2A9C1D'))).toBe(
      refusalSignature(refusal('550 5.1.1 <b.other@example.edu>: Recipient address rejected: queue 99B1C2D3')),
    );
  });

  it('differs between replies, and is absent for what is not a permanent refusal of a patron or a message', () => {
    expect(refusalSignature(refusal('550 5.1.1 User unknown'))).not.toBe(refusalSignature(refusal('550 5.2.1 Mailbox disabled')));
    expect(refusalSignature(refusal('451 4.7.1 Greylisted'))).toBeUndefined();
    expect(refusalSignature(refusal('554 5.7.1 Relay access denied'))).toBeUndefined();
  });
});
