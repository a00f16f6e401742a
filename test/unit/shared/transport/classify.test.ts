import { DeliveryError } from '../../../../shared/errors';
import { classifySesFailure, classifySmtpFailure, enhancedStatusOf, isConnectionFailure, isTlsUnavailable } from '../../../../shared/transport/classify';
import { pauseFor } from '../../../../shared/transport/rate-gate';

const SERVER = 'mail.example.org:587';
const nodemailerError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? fields.response ?? 'error')), fields);

describe('Function: classifySmtpFailure', () => {
  it.each([
    // [what, Nodemailer's error fields, verdict, extra facts]
    ['connection refused', { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, 'transient', { code: 'ESOCKET' }],
    ['connection timeout', { code: 'ETIMEDOUT', command: 'CONN' }, 'transient', { code: 'ETIMEDOUT' }],
    ['DNS failure', { code: 'EDNS', command: 'CONN' }, 'transient', { code: 'EDNS' }],
    ['a 421 greeting', { code: 'ECONNECTION', response: '421 4.3.2 Service not available', responseCode: 421, command: 'CONN' }, 'transient', { throttled: true }],
    ['no STARTTLS', { code: 'ETLS', command: 'CONN' }, 'transient', { code: 'ETLS' }],
    ['an untrusted certificate', { code: 'ESOCKET', originalCode: 'SELF_SIGNED_CERT_IN_CHAIN', command: 'CONN' }, 'transient', { code: 'ETLS' }],
    ['the attempt deadline', { code: 'EABORT' }, 'transient', { code: 'ETIMEDOUT' }],
    ['535 bad credentials', { code: 'EAUTH', response: '535 5.7.8 Authentication credentials invalid', responseCode: 535, command: 'AUTH PLAIN' }, 'transient', { authFailure: true }],
    ['a refused OAuth2 grant', { code: 'EOAUTH2' }, 'transient', { authFailure: true }],
    ['530 login required at MAIL FROM', { code: 'EENVELOPE', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'MAIL FROM' }, 'transient', { authFailure: true, code: 'EAUTHREQUIRED' }],
    ['530 login required at RCPT TO (our setup, not the notice)', { code: 'EENVELOPE', response: '530 5.7.0 Authentication required', responseCode: 530, command: 'RCPT TO' }, 'transient', { authFailure: true, code: 'EAUTHREQUIRED' }],
    ['the connection lost after the data', { code: 'ECONNECTION', command: 'DATA' }, 'transient', { code: 'ECONNECTION', command: 'DATA' }],
    ['the patron refused with a cc accepted', { code: 'EENVELOPE', response: '450 4.2.1 Mailbox busy', responseCode: 450, command: 'RCPT TO', copiesAccepted: ['guardian@example.org'] }, 'transient', { copiesAccepted: ['guardian@example.org'] }],
    ['451 greylisting of one recipient (retries the notice, slows no one down)', { code: 'EENVELOPE', response: '451 4.7.1 Greylisted', responseCode: 451, command: 'RCPT TO' }, 'transient', { enhancedStatus: '4.7.1' }],
    ['451 4.7.0 at MAIL FROM (the relay throttles the sender)', { code: 'EENVELOPE', response: '451 4.7.0 Temporary server error, try again later', responseCode: 451, command: 'MAIL FROM' }, 'transient', { throttled: true }],
    ["Gmail's 421 4.7.0 rate limit", { code: 'EENVELOPE', response: '421 4.7.0 Try again later, closing connection', responseCode: 421, command: 'RCPT TO' }, 'transient', { throttled: true }],
    ['450 mailbox busy', { code: 'EENVELOPE', response: '450 4.2.1 Mailbox busy', responseCode: 450, command: 'RCPT TO' }, 'transient', { enhancedStatus: '4.2.1' }],
    ['452 too many recipients', { code: 'EENVELOPE', response: '452 4.5.3 Too many recipients', responseCode: 452, command: 'RCPT TO' }, 'transient', { throttled: true }],
    ["Gmail's daily limit", { code: 'EENVELOPE', response: '550 5.4.5 Daily user sending limit exceeded', responseCode: 550, command: 'RCPT TO' }, 'transient', { throttled: true }],
    ["Microsoft 365's quota", { code: 'EMESSAGE', response: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException', responseCode: 554, command: 'DATA' }, 'transient', { throttled: true }],
    ['553 sender refused at MAIL FROM (our setup, not the notice)', { code: 'EENVELOPE', response: '553 5.7.1 Sender address rejected: not owned by user', responseCode: 553, command: 'MAIL FROM' }, 'transient', {}],
    ['503 bad sequence at RCPT TO', { code: 'EENVELOPE', response: '503 5.5.1 Error: need MAIL command', responseCode: 503, command: 'RCPT TO' }, 'transient', { code: 'EENVELOPE' }],
    ['503 bad sequence at DATA', { code: 'EMESSAGE', response: '503 5.5.1 Error: need RCPT command', responseCode: 503, command: 'DATA' }, 'transient', {}],
    ['550 unknown user', { code: 'EENVELOPE', response: '550 5.1.1 User unknown', responseCode: 550, command: 'RCPT TO' }, 'permanent', { enhancedStatus: '5.1.1' }],
    ['554 rejected content', { code: 'EMESSAGE', response: '554 5.6.0 Message rejected', responseCode: 554, command: 'DATA' }, 'permanent', {}],
    ['an unknown error', { code: 'EWHATEVER' }, 'transient', { code: 'EWHATEVER' }],
  ])('classifies %s', (_, fields, verdict, facts) => {
    // Act
    const error = classifySmtpFailure(nodemailerError(fields), SERVER);
    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.verdict).toBe(verdict);
    expect(error.facts).toMatchObject({ transport: 'smtp', server: SERVER, ...facts });
  });

  it('slows the institution down for a throttling reply, never for one greylisted recipient', () => {
    // Prepare
    const retry = { shortDelaySeconds: [180, 540], longDelaySeconds: [3600, 5400] } as const;
    const pauseAfter = (fields: Record<string, unknown>) => pauseFor(classifySmtpFailure(nodemailerError(fields), SERVER).facts, retry);
    // Act, Assess
    expect(pauseAfter({ code: 'EENVELOPE', response: '451 4.7.1 Greylisted', responseCode: 451, command: 'RCPT TO' })).toBeUndefined();
    expect(pauseAfter({ code: 'EENVELOPE', response: '421 4.7.0 Try again later', responseCode: 421, command: 'RCPT TO' })).toBe(180_000);
    expect(pauseAfter({ code: 'EMESSAGE', response: '554 5.2.0 SubmissionQuotaExceededException', responseCode: 554, command: 'DATA' })).toBe(3_600_000);
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
  const sesError = (name: string, fault: 'client' | 'server' = 'client') => Object.assign(new Error(`${name} happened`), { name, $fault: fault });

  it.each([
    ['Throttling', 'transient', true],
    ['TooManyRequestsException', 'transient', true],
    ['LimitExceededException', 'transient', true],
    ['AccountSendingPausedException', 'transient', false],
    ['MailFromDomainNotVerifiedException', 'transient', false],
    ['ConfigurationSetDoesNotExistException', 'transient', false],
    ['MessageRejected', 'permanent', false],
    ['InvalidParameterValue', 'permanent', false],
    ['SomethingNew', 'transient', false],
  ])('classifies %s as %s', (name, verdict, throttled) => {
    // Act
    const error = classifySesFailure(sesError(name));
    // Assess
    expect(error).toMatchObject({ verdict, facts: { transport: 'ses', server: 'ses', code: name } });
    expect(Boolean(error.facts.throttled)).toBe(throttled);
  });

  it('treats a server fault as transient whatever its name', () => {
    expect(classifySesFailure(sesError('MessageRejected', 'server')).verdict).toBe('transient');
  });

  it.each([
    ['Daily message quota exceeded.', true],
    ['Maximum sending rate exceeded.', false],
  ])('tells the daily quota from the sending rate by the message AWS documents: %s', (message, quota) => {
    const error = classifySesFailure(Object.assign(new Error(message), { name: 'Throttling', $fault: 'client' }));
    expect(error).toMatchObject({ verdict: 'transient', facts: { throttled: true } });
    expect(Boolean(error.facts.quota)).toBe(quota);
  });
});
