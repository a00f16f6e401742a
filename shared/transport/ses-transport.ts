// Transport through Amazon SES: SendRawEmail with the same MIME bytes the SMTP transport sends, so the
// message is the same whichever way it goes. SES signs it with Easy DKIM and handles bounces itself.
import { SendRawEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import type { Clock } from '../clock';
import type { OutgoingMessage } from '../mime/compose';
import { classifySesFailure } from './classify';
import { NOTICE_ID_TAG, type SendOptions, type SendReceipt, type Transport } from './transport';

export interface SesTransportOptions {
  client: SESClient;
  /** The configuration set whose event destination reports delivery, bounce and complaint events. */
  configurationSet?: string;
  clock: Clock;
}


export class SesTransport implements Transport {
  public readonly kind = 'ses' as const;

  public constructor(private readonly options: SesTransportOptions) {}

  public async send(message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
    const remaining = Math.max(0, options.deadline.getTime() - this.options.clock.now().getTime());
    try {
      const output = await this.options.client.send(
        new SendRawEmailCommand({
          Source: message.from,
          Destinations: message.envelope.to,
          RawMessage: { Data: message.raw },
          ConfigurationSetName: this.options.configurationSet,
          Tags: [{ Name: NOTICE_ID_TAG, Value: message.noticeId }],
        }),
        { abortSignal: AbortSignal.timeout(remaining) },
      );
      const response = `SES accepted the message as ${output.MessageId}`;
      options.tries?.push({ server: 'ses', ok: true, reply: response });
      return { transport: 'ses', server: 'ses', messageId: output.MessageId ?? message.messageId, response };
    } catch (error) {
      const failure = classifySesFailure(error);
      options.tries?.push({ server: 'ses', ok: false, reply: failure.message });
      throw failure;
    }
  }

  public async close(): Promise<void> {
    // The SES client is shared across batches; nothing to close per batch.
  }
}
