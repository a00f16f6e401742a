// Transport over the institution's SMTP relays (README: Configuration): the primary, then the backup when the
// primary does not answer, within one attempt and one deadline. Connections are pooled for the life
// of the transport (one sender batch), so a batch reuses them.
import { isIP } from 'node:net';
import Mailer from 'nodemailer/lib/mailer';
import SMTPPool from 'nodemailer/lib/smtp-pool';
import type { Clock } from '../clock';
import type { SmtpServerConfig } from '../config/schema';
import { DeliveryError } from '../errors';
import type { OutgoingMessage } from '../mime/compose';
import { credentialForms, redactSecrets } from '../secrets';
import { classifySmtpFailure, enhancedStatusOf, isConnectionFailure, isTlsUnavailable, replyCodeOf } from './classify';
import type { SendOptions, SendReceipt, Transport } from './transport';

/** Credentials for a server's `auth`, resolved from the configuration or the institution's secret. */
export type SmtpAuth = { user: string; pass: string } | { type: 'OAuth2'; user: string; accessToken: string };

export interface SmtpServer {
  config: SmtpServerConfig;
  /** Supplies the server's credentials when it needs them (a fresh OAuth2 token, for one). */
  auth?: () => Promise<SmtpAuth>;
  /** Told when the server refused the credentials (an OAuth2 token is then fetched anew). */
  authRejected?: () => void;
  /** Credentials behind `auth` that never reach the server itself (an OAuth2 client secret and refresh token). */
  secretValues?: string[];
}

export interface SmtpTransportOptions {
  servers: SmtpServer[];
  /** The EHLO name: the institution's domain, as a relay expects a fully qualified name. */
  clientName: string;
  /** DKIM signing of every message (RFC 6376), when the institution has a key. */
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  /** Seconds to wait for a TCP connection and for the greeting. */
  connectSeconds?: number;
  clock: Clock;
}

type Pool = Mailer<SMTPPool.SentMessageInfo>;

type LogEntry = { tnx?: string; remoteAddress?: string } | undefined;

/**
 * Follows one pool's conversation through Nodemailer's transaction log. Nodemailer reports every lost
 * connection alike (command `CONN`), before the greeting or after the message went out; only the log
 * shows whether the server had answered 354 to DATA, and so may hold the message. The pool keeps one
 * connection, which carries one message at a time.
 */
class ConversationWatch {
  /** The server asked for the current message's data: from here on it may have the message. */
  public messageMayHaveArrived = false;

  private readonly saw = (entry: LogEntry, line: unknown): void => {
    const text = typeof line === 'string' ? line : '';
    if (entry?.tnx === 'client' && /^MAIL FROM:/i.test(text)) this.messageMayHaveArrived = false;
    else if (entry?.tnx === 'server' && text.startsWith('354')) this.messageMayHaveArrived = true;
    // A new connection ("established to host:port") starts with nothing sent.
    else if (entry?.tnx === 'network' && entry.remoteAddress) this.messageMayHaveArrived = false;
  };

  /** Nodemailer's logger interface; lines are read for their SMTP verbs and never kept. */
  public readonly logger = { trace: this.saw, debug: this.saw, info: this.saw, warn: this.saw, error: this.saw, fatal: this.saw };
}

export const serverName = (config: Pick<SmtpServerConfig, 'host' | 'port'>): string => `${config.host}:${config.port}`;

export class SmtpTransport implements Transport {
  public readonly kind = 'smtp' as const;
  private readonly pools = new Map<string, { pool: Pool; watch: ConversationWatch }>();
  /** The credentials last given to each server, to keep them out of what it answers. */
  private readonly credentials = new Map<string, SmtpAuth>();
  private closed = false;

  public constructor(private readonly options: SmtpTransportOptions) {}

  /** A pooled connection to `server`, with TLS as configured, or plain when `plain` (the fallback). */
  private async pool(server: SmtpServer, plain: boolean): Promise<{ pool: Pool; watch: ConversationWatch }> {
    const key = `${serverName(server.config)}|${plain ? 'plain' : 'tls'}`;
    const existing = this.pools.get(key);
    if (existing) return existing;
    const watch = new ConversationWatch();
    const { config } = server;
    const connectMs = (this.options.connectSeconds ?? 10) * 1000;
    const auth = server.auth ? await server.auth() : undefined;
    // Credentials that came after the attempt gave up and the transport closed open nothing.
    if (this.closed) throw Object.assign(new Error('the transport is closed'), { code: 'EABORT' });
    if (auth) this.credentials.set(serverName(config), auth);
    const options: SMTPPool.Options = {
      pool: true,
      maxConnections: 1,
      maxMessages: 100,
      host: config.host,
      port: config.port,
      name: this.options.clientName,
      secure: !plain && config.tls === 'implicit',
      requireTLS: !plain && config.tls === 'starttls',
      ignoreTLS: plain || config.tls === 'none',
      // Certificates are verified; a private CA is trusted only when configured.
      tls: { rejectUnauthorized: true, ...(isIP(config.host) ? {} : { servername: config.host }), minVersion: 'TLSv1.2', ...(config.ca ? { ca: config.ca } : {}) },
      auth,
      connectionTimeout: connectMs,
      greetingTimeout: connectMs,
      dkim: this.options.dkim,
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: watch.logger as unknown as SMTPPool.Options['logger'],
      transactionLog: true,
    };
    // What nodemailer.createTransport builds for a pool, without loading every other transport it offers.
    const pool: Pool = new Mailer(new SMTPPool(options), options);
    this.pools.set(key, { pool, watch });
    return { pool, watch };
  }

  /** Drops a server's pools, so that its next use connects afresh (after a failure or a deadline). */
  private forget(server: SmtpServer): void {
    for (const plain of [false, true]) {
      const key = `${serverName(server.config)}|${plain ? 'plain' : 'tls'}`;
      this.pools.get(key)?.pool.close();
      this.pools.delete(key);
    }
  }

  private async sendOnce(server: SmtpServer, message: OutgoingMessage, plain: boolean, deadline: Date): Promise<SendReceipt> {
    if (deadline.getTime() <= this.options.clock.now().getTime()) throw Object.assign(new Error('deadline passed'), { code: 'EABORT' });
    const { pool, watch } = await this.beforeDeadline(this.pool(server, plain), deadline, server);
    const remaining = deadline.getTime() - this.options.clock.now().getTime();
    if (remaining <= 0) throw Object.assign(new Error('deadline passed'), { code: 'EABORT' });
    let info: SMTPPool.SentMessageInfo;
    try {
      info = await pool.sendMail({ envelope: message.envelope, raw: message.raw, signal: AbortSignal.timeout(remaining) });
    } catch (error) {
      // Lost after the server took the data: that server's verdict is unknown, and no backup may send a copy.
      if (watch.messageMayHaveArrived && typeof error === 'object' && error !== null) Object.assign(error, { command: 'DATA' });
      throw error;
    }
    // The patron's address as Nodemailer wrote it in RCPT TO (its domain in lower case, punycoded): a
    // refusal names it so. With it refused and a cc accepted, the notice itself was not delivered; the
    // copies that were are not sent again.
    const patron = info.envelope?.to?.[0] ?? message.envelope.to[0];
    const refused = ((info.rejectedErrors ?? []) as Array<{ recipient?: string }>).find((rejection) => rejection.recipient === patron);
    if (refused) throw Object.assign(refused, { copiesAccepted: info.accepted.map(String) });
    if (info.accepted.length === 0) throw Object.assign(new Error('every recipient was refused'), { code: 'EENVELOPE' });
    // An acceptance is kept like a refusal, so a careless server's quoting of the login is taken out of it too.
    const secrets = this.secretsOf(server);
    const response = secrets.length > 0 && typeof info.response === 'string' ? redactSecrets(info.response, secrets) : info.response;
    return { transport: 'smtp', server: serverName(server.config), messageId: message.messageId, response, responseCode: replyCodeOf(response), enhancedStatus: enhancedStatusOf(response) };
  }

  /**
   * The pool, once its credentials have come, or a failure at the attempt's deadline: an OAuth2 token
   * endpoint that hangs must not hold the attempt past it (and the lease with it). The fetch goes on; a
   * token that comes late is kept for the next attempt.
   */
  private beforeDeadline<T>(opening: Promise<T>, deadline: Date, server: SmtpServer): Promise<T> {
    opening.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const late = () => {
        const name = serverName(server.config);
        reject(new DeliveryError(`OAuth2 for ${name}: the token endpoint did not answer before the attempt's deadline`, 'transient', { transport: 'smtp', server: name, code: 'EOAUTH2', authFailure: true }));
      };
      const timer = setTimeout(late, Math.max(0, deadline.getTime() - this.options.clock.now().getTime()));
      opening.then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
  }

  /** What a server must never have quoted back into what we keep: its credentials, and those behind them. */
  private secretsOf(server: SmtpServer): string[] {
    const auth = this.credentials.get(serverName(server.config));
    const secret = auth ? ('pass' in auth ? auth.pass : auth.accessToken) : undefined;
    return [...(secret ? credentialForms(secret, auth?.user) : []), ...(server.secretValues ?? [])];
  }

  /**
   * A server's refusal with any credential it quoted back taken out: its words go to the notice's history,
   * the transport's status and the Test Server's answer.
   */
  private withoutSecrets(server: SmtpServer, error: unknown): unknown {
    const secrets = this.secretsOf(server);
    const failure = error as { response?: unknown; message?: unknown };
    if (secrets.length === 0 || typeof failure !== 'object' || failure === null) return error;
    for (const field of ['response', 'message'] as const) {
      if (typeof failure[field] === 'string') failure[field] = redactSecrets(failure[field], secrets);
    }
    return error;
  }

  /** One server: TLS as configured, then plain if TLS cannot be made and the server allows it. */
  private async sendVia(server: SmtpServer, message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
    const name = serverName(server.config);
    try {
      const receipt = await this.sendOnce(server, message, false, options.deadline);
      options.tries?.push({ server: name, ok: true, reply: receipt.response });
      return receipt;
    } catch (caught) {
      const error = this.withoutSecrets(server, caught);
      if (isAuthFailure(error)) {
        server.authRejected?.();
        this.forget(server);
      }
      if (needsNewConnection(error)) this.forget(server);
      if (!(server.config.allowNonSecure && server.config.tls !== 'none' && isTlsUnavailable(error))) {
        options.tries?.push({ server: name, ok: false, reply: describe(error) });
        throw error;
      }
      options.tries?.push({ server: `${name} (TLS)`, ok: false, reply: describe(error) });
    }
    try {
      const receipt = await this.sendOnce(server, message, true, options.deadline);
      options.tries?.push({ server: `${name} (plain)`, ok: true, reply: receipt.response });
      return receipt;
    } catch (caught) {
      const error = this.withoutSecrets(server, caught);
      if (needsNewConnection(error)) this.forget(server);
      options.tries?.push({ server: `${name} (plain)`, ok: false, reply: describe(error) });
      throw error;
    }
  }

  public async send(message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
    let lastError: DeliveryError | undefined;
    for (const server of this.options.servers) {
      if (lastError && this.options.clock.now() >= options.deadline) break;
      try {
        return await this.sendVia(server, message, options);
      } catch (error) {
        lastError = classifySmtpFailure(error, serverName(server.config));
        // A server that answered gave its verdict; only one that did not lets the backup try.
        if (!isConnectionFailure(error)) throw lastError;
      }
    }
    throw lastError ?? new DeliveryError('no SMTP server is configured', 'transient', { transport: 'smtp', code: 'ECONFIG' });
  }

  public async close(): Promise<void> {
    this.closed = true;
    for (const { pool } of this.pools.values()) pool.close();
    this.pools.clear();
  }
}

const isAuthFailure = (error: unknown): boolean => (error as { code?: string })?.code === 'EAUTH';

/** After these the pooled connection is unusable; after a refused recipient it is fine (the pool resets it). */
const needsNewConnection = (error: unknown): boolean =>
  isConnectionFailure(error) || ['EABORT', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION', 'EPROTOCOL'].includes((error as { code?: string })?.code ?? '');

/** An error as one line for the Test Server: the server's reply when there is one. */
const describe = (error: unknown): string => {
  const failure = error as { response?: string; message?: string; code?: string };
  // Nodemailer says only "Message sending aborted" when the attempt's deadline cut it short.
  if (failure.code === 'EABORT') return "the attempt's deadline passed before the server answered";
  return (failure.response ?? failure.message ?? String(error)).replace(/\s+/g, ' ').trim();
};
