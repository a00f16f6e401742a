// SesTransport: SendRawEmail of the composed bytes, tagged with the notice id for SES's events, and every
// SES error the catalogue names classified by it.
import { SendRawEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DeliveryError } from '../../../../shared/errors';
import { composeMessage } from '../../../../shared/mime/compose';
import { SES_ERROR_NAMES } from '../../../../shared/transport/classify';
import { SesTransport } from '../../../../shared/transport/ses-transport';
import type { ServerTry } from '../../../../shared/transport/transport';
import { aConfig, aNotice } from '../../../support/factories';

const ses = mockClient(SESClient);
const NOW = new Date('2030-01-01T09:00:00Z');
const institution = aConfig().institutions[1]!;
const transport = () => new SesTransport({ client: new SESClient({ region: 'us-east-1' }), configurationSet: 'notice-relay-noticerelay', clock: { now: () => NOW } });
const message = () => composeMessage(aNotice({ id: '01JB0000000000000000000001', institutionId: 'branch' }), { to: 'patron@example.org', subject: 'Overdue', text: 'Dear patron,\nplease return it.\n' }, institution, { now: NOW });
const sesError = (name: string, message: string, fault: 'client' | 'server' = 'client') => Object.assign(new Error(message), { name, $fault: fault, $metadata: {} });

type Scope = DeliveryError['scope'];

/**
 * Every SES error the catalogue names, with what SES says for it (as its API reference and knowledge
 * center word it), and the code and scope it must be given. Written out here, not read from the
 * catalogue: a wrong mapping there fails here. Each is a client fault, so its name alone decides (a fault
 * of SES's own is SES unavailable whatever its name: a test below).
 */
const SES_ERRORS: ReadonlyArray<[name: string, said: string, code: string, scope: Scope]> = [
  ['Throttling', 'Maximum sending rate exceeded.', 'ETHROTTLED', 'institution'],
  ['ThrottlingException', 'Rate exceeded', 'ETHROTTLED', 'institution'],
  ['TooManyRequestsException', 'Too Many Requests', 'ETHROTTLED', 'institution'],
  ['LimitExceededException', 'Maximum sending rate exceeded.', 'ETHROTTLED', 'institution'],
  // The new account's first night: SES not ready is the library's setup, never a failed notice.
  ['MessageRejected', 'Email address is not verified. The following identities failed the check in region US-EAST-1: notices@branch.example.edu', 'ESESNOTVERIFIED', 'institution'],
  ['MessageRejected', 'Message length is more than 10485760 bytes long.', 'ESESREJECTED', 'message'],
  ['InvalidParameterValue', "Missing final '@domain'", 'ESESREJECTED', 'message'],
  ['MailFromDomainNotVerifiedException', 'The MAIL FROM domain bounce.branch.example.edu is not verified.', 'ESESMAILFROM', 'institution'],
  ['AccountSendingPausedException', 'Sending paused for this account.', 'ESESPAUSED', 'institution'],
  ['ConfigurationSetSendingPausedException', 'Sending paused for this configuration set.', 'ESESPAUSED', 'institution'],
  ['ConfigurationSetDoesNotExistException', 'Configuration set <notice-relay-noticerelay> does not exist.', 'ECONFIG', 'institution'],
  ['AccessDenied', 'User is not authorized to perform: ses:SendRawEmail', 'ESESACCESS', 'institution'],
  ['AccessDeniedException', 'User is not authorized to perform: ses:SendRawEmail', 'ESESACCESS', 'institution'],
  ['InvalidClientTokenId', 'The security token included in the request is invalid.', 'ESESACCESS', 'institution'],
  ['UnrecognizedClientException', 'The security token included in the request is invalid.', 'ESESACCESS', 'institution'],
  ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', 'ESESACCESS', 'institution'],
  ['ExpiredToken', 'The security token included in the request is expired', 'ESESACCESS', 'institution'],
  ['ExpiredTokenException', 'The security token included in the request is expired', 'ESESACCESS', 'institution'],
  ['ServiceUnavailable', 'Service is unable to handle request.', 'ESESUNAVAILABLE', 'institution'],
  ['InternalFailure', 'The request processing has failed because of an unknown error.', 'ESESUNAVAILABLE', 'institution'],
];

beforeEach(() => ses.reset());

describe('Class: SesTransport', () => {
  it('sends the raw message as composed, from the configured sender to the envelope, tagged with the notice id', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).resolves({ MessageId: 'ses-1' });
    const raw = { noticeId: '01JB0000000000000000000001', messageId: '<01JB0000000000000000000001@branch.example.edu>', from: 'Branch Library <notices@branch.example.edu>', envelope: { from: 'it@branch.example.edu', to: ['patron@example.org'] }, raw: Buffer.from('Subject: Overdue\r\n\r\nPlease return it.\r\n') };
    // Act
    const receipt = await transport().send(raw, { deadline: new Date(Date.now() + 5000) });
    // Assess
    expect(ses).toHaveReceivedCommandWith(SendRawEmailCommand, {
      Source: 'Branch Library <notices@branch.example.edu>',
      Destinations: ['patron@example.org'],
      RawMessage: { Data: raw.raw },
      ConfigurationSetName: 'notice-relay-noticerelay',
      Tags: [{ Name: 'notice-id', Value: '01JB0000000000000000000001' }],
    });
    expect(receipt).toMatchObject({ transport: 'ses', server: 'ses', messageId: 'ses-1' });
  });

  it('hands SES the message with CRLF line ends only, the notice tag and the configuration set', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).resolves({ MessageId: 'ses-1' });
    // Act
    const receipt = await transport().send(await message(), { deadline: new Date(Date.now() + 5000) });
    // Assess
    expect(receipt).toEqual({ transport: 'ses', server: 'ses', messageId: 'ses-1', response: 'SES accepted the message as ses-1' });
    const input = ses.commandCalls(SendRawEmailCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Source: institution.from.text, Destinations: ['patron@example.org'], ConfigurationSetName: 'notice-relay-noticerelay', Tags: [{ Name: 'notice-id', Value: '01JB0000000000000000000001' }] });
    // RFC 5322: SES takes the bytes as they are, so a multi-line text body must not reach it with bare LF.
    expect(Buffer.from(input.RawMessage!.Data!).toString('latin1')).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  });

  it('has a row for every SES error the catalogue names, and no other', () => {
    expect([...new Set(SES_ERRORS.map(([name]) => name))].sort()).toEqual([...SES_ERROR_NAMES].sort());
  });

  it.each(SES_ERRORS.map(([name, said, code, scope]) => ({ name, said, code, scope })))('classifies $name as $code, about the $scope ("$said"), and reports it as the try', async ({ name, said, code, scope }) => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(sesError(name, said));
    const tries: ServerTry[] = [];
    // Act
    const error = await transport().send(await message(), { deadline: new Date(Date.now() + 5000), tries }).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ scope, facts: { transport: 'ses', server: 'ses', command: name, code } });
    expect(tries).toEqual([{ server: 'ses', ok: false, reply: `${name}: ${said}` }]);
  });

  it.each([
    ['MessageRejected', 'Message length is more than 10485760 bytes long.', 'ESESREJECTED', 'message', 'permanent'],
    ['Throttling', 'Daily message quota exceeded.', 'EQUOTA', 'institution', 'transient'],
    ['TimeoutError', 'Connection timed out after 15000 ms', 'EUNCONFIRMED', 'message', 'transient'],
  ])('tells %s (%s) apart: %s', async (name, said, code, scope, verdict) => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(sesError(name, said));
    // Act
    const error = (await transport().send(await message(), { deadline: new Date(Date.now() + 5000) }).catch((caught: unknown) => caught)) as DeliveryError;
    // Assess
    expect(error).toMatchObject({ scope, verdict, facts: { code } });
  });

  it("takes a fault of SES's own for SES being unavailable, whatever its name", async () => {
    ses.on(SendRawEmailCommand).rejects(sesError('InternalFailure', 'We encountered an internal error.', 'server'));
    const error = (await transport().send(await message(), { deadline: new Date(Date.now() + 5000) }).catch((caught: unknown) => caught)) as DeliveryError;
    expect(error).toMatchObject({ scope: 'institution', facts: { code: 'ESESUNAVAILABLE' } });
  });
});
