// SesTransport's request: SendRawEmail of the composed bytes, tagged with the notice id for SES's events.
import { SendRawEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DeliveryError } from '../../../../shared/errors';
import { SesTransport } from '../../../../shared/transport/ses-transport';

const ses = mockClient(SESClient);
const transport = new SesTransport({ client: new SESClient({ region: 'us-east-1' }), configurationSet: 'notices', clock: { now: () => new Date('2030-01-01T00:00:00Z') } });
const message = {
  noticeId: '01JB0000000000000000000001',
  messageId: '<01JB0000000000000000000001@branch.example.edu>',
  from: 'Branch Library <notices@branch.example.edu>',
  envelope: { from: 'it@branch.example.edu', to: ['patron@example.org'] },
  raw: Buffer.from('Subject: Overdue\r\n\r\nPlease return it.\r\n'),
};
const deadline = new Date('2030-01-01T00:01:00Z');

beforeEach(() => {
  ses.reset();
});

describe('Class: SesTransport', () => {
  it('sends the raw message from the configured sender to the envelope, tagged with the notice id', async () => {
    // Prepare
    ses.on(SendRawEmailCommand).resolves({ MessageId: 'ses-1' });
    // Act
    const receipt = await transport.send(message, { deadline });
    // Assess
    expect(ses).toHaveReceivedCommandWith(SendRawEmailCommand, {
      Source: 'Branch Library <notices@branch.example.edu>',
      Destinations: ['patron@example.org'],
      RawMessage: { Data: message.raw },
      ConfigurationSetName: 'notices',
      Tags: [{ Name: 'notice-id', Value: '01JB0000000000000000000001' }],
    });
    expect(receipt).toMatchObject({ transport: 'ses', server: 'ses', messageId: 'ses-1' });
  });

  it("turns SES's refusal into a classified DeliveryError", async () => {
    // Prepare
    ses.on(SendRawEmailCommand).rejects(Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected', $fault: 'client' }));
    // Act
    const sending = transport.send(message, { deadline });
    // Assess
    await expect(sending).rejects.toThrow(DeliveryError);
    await expect(transport.send(message, { deadline })).rejects.toMatchObject({ verdict: 'permanent', facts: { code: 'MessageRejected' } });
  });
});
