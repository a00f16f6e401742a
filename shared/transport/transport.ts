// A transport sends one composed message: a name and one send(), as Nodemailer's transports are.
import type { SmtpServerConfig } from '../config/schema';
import type { OutgoingMessage } from '../mime/compose';

/** The SES message tag that ties SES's events back to the notice (SES passes tags into every event). */
export const NOTICE_ID_TAG = 'notice-id';

/** How a relay is named in receipts, replies and the transport's state: `host:port`. */
export const serverName = (config: Pick<SmtpServerConfig, 'host' | 'port'>): string => `${config.host}:${config.port}`;

/** What the transport reports when a message is accepted. */
export interface SendReceipt {
  transport: 'smtp' | 'ses';
  /** `host:port` of the relay that took the message, or `ses`. */
  server: string;
  /** The Message-ID (SMTP) or SES's message id: what feedback and the receiving side know it by. */
  messageId: string;
  /** The server's reply, e.g. `250 2.0.0 OK queued as 4Qx…`. */
  response: string;
  /** SMTP: the reply code of the acceptance (250), read by the transport so nobody after it parses the text. */
  responseCode?: number;
  /** SMTP: the RFC 3463 enhanced status of the acceptance (`2.0.0`), when the server gave one. */
  enhancedStatus?: string;
}

/** One try of one server, as the Test Server reports it. */
export interface ServerTry {
  server: string;
  ok: boolean;
  reply: string;
}

export interface SendOptions {
  /** The attempt's hard deadline; the send is abandoned when it comes. */
  deadline: Date;
  /** Collects every server tried, in order (the Test Server shows them). */
  tries?: ServerTry[];
}

export interface Transport {
  readonly kind: 'smtp' | 'ses';
  /**
   * Sends the message or throws a DeliveryError classified as transient or permanent.
   * @example
   * const receipt = await transport.send(message, { deadline: addSeconds(now, 60) });
   */
  send(message: OutgoingMessage, options: SendOptions): Promise<SendReceipt>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}
