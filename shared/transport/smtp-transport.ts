// Transport over the institution's SMTP relays (docs/it/configuration.md): the primary, then the backup when the
// primary does not answer, within one attempt and one deadline. One connection per server is kept for the
// life of the transport (one sender batch), so a batch reuses it, and it ends with QUIT (RFC 5321 §4.1.1.10).
// Nodemailer's SMTPConnection speaks the protocol; this module decides when TLS is good enough, logs in
// once per connection (a refused login is not tried again on that connection, nor on another within the
// attempt), and reads from the transaction log how far a conversation got before it broke.
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import DKIM from 'nodemailer/lib/dkim';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Clock } from '../clock';
import type { SmtpServerConfig } from '../config/schema';
import type { OutgoingMessage } from '../mime/compose';
import { credentialForms, redactSecrets } from '../secrets';
import { classifySmtpFailure, deliveryFailure, enhancedStatusOf, isConnectionFailure, isTlsUnavailable, replyCodeOf } from './classify';
import { type SendOptions, type SendReceipt, serverName, type Transport } from './transport';
import type { DeliveryError } from '../errors';

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

type LogEntry = { tnx?: string; remoteAddress?: string } | undefined;

/**
 * Follows one connection's conversation through Nodemailer's transaction log. Nodemailer reports every
 * lost connection alike (command `CONN`), before the greeting or after the message went out; only the log
 * shows how far the mail transaction had got: MAIL FROM or RCPT TO sent (the server was there; nothing of
 * the message yet), or 354 received to DATA (from there on the server may hold the message).
 */
class ConversationWatch {
  /** The command the conversation was last waiting on within a mail transaction, if any. */
  public stage: 'MAIL FROM' | 'RCPT TO' | 'DATA' | undefined;

  private readonly saw = (entry: LogEntry, line: unknown): void => {
    const text = typeof line === 'string' ? line : '';
    if (entry?.tnx === 'client') {
      if (/^MAIL FROM:/i.test(text)) this.stage = 'MAIL FROM';
      else if (/^RCPT TO:/i.test(text)) this.stage = 'RCPT TO';
      else if (/^(RSET|QUIT)\b/i.test(text)) this.stage = undefined;
    } else if (entry?.tnx === 'server') {
      if (text.startsWith('354')) this.stage = 'DATA';
      // The reply to the message's data ends the transaction.
      else if (this.stage === 'DATA' && /^[2-5]\d\d/.test(text)) this.stage = undefined;
    }
  };

  /** Nodemailer's logger interface; lines are read for their SMTP verbs and never kept. */
  public readonly logger = { trace: this.saw, debug: this.saw, info: this.saw, warn: this.saw, error: this.saw, fatal: this.saw };
}

/** One connection to one server, kept for the batch. */
interface Session {
  connection: SMTPConnection;
  watch: ConversationWatch;
  alive: boolean;
  /** Messages sent over it: a failure at the start of a reused one may be the server's idle timeout. */
  sent: number;
}

/** RFC 7628: the XOAUTH2 initial response. */
const xoauth2Token = (user: string, accessToken: string): string => Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`).toString('base64');

/**
 * XOAUTH2 with one AUTH command: Nodemailer's own handler tries a renewed token after a refusal, which
 * would be a second login on a relay that just refused one. A refused token is renewed by the next attempt.
 */
const XOAUTH2_ONCE: SMTPConnection.CustomAuthenticationHandlers = {
  XOAUTH2: async (ctx) => {
    let reply = await ctx.sendCommand(`AUTH XOAUTH2 ${xoauth2Token(ctx.auth.credentials.user, ctx.auth.credentials.pass)}`);
    // RFC 7628 §3.2.2: a refusal comes as a 334 JSON challenge, answered with an empty line, then 535.
    if (reply.status === 334) reply = await ctx.sendCommand('');
    if (reply.status !== 235) throw new Error(reply.response);
  },
};

const failure = (message: string, fields: { code: string; command?: string; response?: string; responseCode?: number }) => Object.assign(new Error(message), fields);

export class SmtpTransport implements Transport {
  public readonly kind = 'smtp' as const;
  private readonly sessions = new Map<string, Session>();
  /** The credentials last given to each server, to keep them out of what it answers. */
  private readonly credentials = new Map<string, SmtpAuth>();
  /** One message at a time per transport: a batch sends in order, and a connection carries one transaction. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  public constructor(private readonly options: SmtpTransportOptions) {}

  /**
   * Runs `start` against a connection and settles with its callback, or with the connection's first error
   * or end, or at `deadline`, when the connection is cut (Nodemailer leaves a hung server to a 10-minute
   * socket timeout). The error then names the command the conversation was waiting on.
   */
  private step<T>(session: Session, deadline: Date, start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    const { connection, watch } = session;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connection.off('error', onError);
        connection.off('end', onEnd);
        if (error) {
          // Lost without a reply: say where the conversation was, so the verdict knows what the server may hold.
          const failed = error as { responseCode?: number; command?: string };
          if (failed.responseCode === undefined && watch.stage) failed.command = watch.stage;
          reject(error);
        } else resolve(value as T);
      };
      const onError = (error: Error) => finish(error);
      // Nodemailer ends the connection before it hands the reply that closed it (a 421) to the callback.
      const onEnd = () => setImmediate(() => finish(failure('the connection closed unexpectedly', { code: 'ECONNECTION', command: 'CONN' })));
      const timer = setTimeout(() => {
        session.alive = false;
        finish(failure("the attempt's deadline passed", { code: 'EABORT', command: watch.stage }));
        connection.close();
      }, Math.max(0, deadline.getTime() - this.options.clock.now().getTime()));
      connection.on('error', onError);
      connection.once('end', onEnd);
      start(finish);
    });
  }

  /** A connection to `server` with TLS as configured (or plain, the fallback), logged in if it has `auth`. */
  private async open(server: SmtpServer, plain: boolean, deadline: Date): Promise<Session> {
    const { config } = server;
    // The credentials first: a missing password or a refused OAuth2 grant needs no connection to tell.
    const auth = server.auth ? await this.beforeDeadline(server.auth(), deadline, server) : undefined;
    // Credentials that came after the attempt gave up and the transport closed open nothing.
    if (this.closed) throw failure('the transport is closed', { code: 'EABORT' });
    if (auth) this.credentials.set(serverName(config), auth);
    const connectMs = (this.options.connectSeconds ?? 10) * 1000;
    const watch = new ConversationWatch();
    const implicit = !plain && config.tls === 'implicit';
    const starttls = !plain && config.tls === 'starttls';
    const connection = new SMTPConnection({
      host: config.host,
      port: config.port,
      name: this.options.clientName,
      secure: implicit,
      // STARTTLS when the server offers it, and only then: its absence is found below, without sending
      // a command the server never offered (RFC 3207 §4).
      ignoreTLS: !starttls,
      // Certificates are verified; a private CA is trusted only when configured.
      tls: { rejectUnauthorized: true, ...(isIP(config.host) ? {} : { servername: config.host }), minVersion: 'TLSv1.2', ...(config.ca ? { ca: config.ca } : {}) },
      connectionTimeout: connectMs,
      greetingTimeout: connectMs,
      // Only for an OAuth2 login: a password login must keep choosing PLAIN or LOGIN, whatever comes first.
      ...(auth && 'type' in auth ? { customAuth: XOAUTH2_ONCE } : {}),
      logger: watch.logger as unknown as SMTPConnection.Options['logger'],
      transactionLog: true,
    });
    const session: Session = { connection, watch, alive: true, sent: 0 };
    connection.on('error', () => (session.alive = false));
    connection.on('end', () => (session.alive = false));
    await this.step<void>(session, deadline, (done) => connection.connect((error) => done(error)));
    if (starttls && !connection.secure) {
      await this.quit(session);
      throw failure(`${serverName(config)} does not offer STARTTLS, and TLS is required`, { code: 'ETLS', command: 'EHLO' });
    }
    // Logged in once per connection, and only over TLS unless the configuration says otherwise.
    if (auth && connection.allowsAuth) {
      const login = 'pass' in auth ? { user: auth.user, pass: auth.pass } : { method: 'XOAUTH2', user: auth.user, pass: auth.accessToken };
      try {
        await this.step<void>(session, deadline, (done) => connection.login(login, (error) => done(error)));
      } catch (error) {
        await this.quit(session);
        throw error;
      }
    }
    return session;
  }

  /**
   * The credentials, once they have come, or a failure at the attempt's deadline: an OAuth2 token
   * endpoint that hangs must not hold the attempt past it (and the lease with it). The fetch goes on; a
   * token that comes late is kept for the next attempt.
   */
  private beforeDeadline<T>(coming: Promise<T>, deadline: Date, server: SmtpServer): Promise<T> {
    coming.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const late = () => {
        const name = serverName(server.config);
        reject(deliveryFailure('EOAUTH2', `OAuth2 for ${name}: the token endpoint did not answer before the attempt's deadline`, { transport: 'smtp', server: name }));
      };
      const timer = setTimeout(late, Math.max(0, deadline.getTime() - this.options.clock.now().getTime()));
      coming.then(
        (value) => (clearTimeout(timer), resolve(value)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
  }

  /** Ends a session politely (QUIT) if it can still hear it, else drops it. */
  private quit(session: Session): Promise<void> {
    const { connection } = session;
    if (!session.alive) {
      connection.close();
      return Promise.resolve();
    }
    session.alive = false;
    return new Promise<void>((resolve) => {
      // The server's 221 closes it; one that never answers is not waited for long.
      const timer = setTimeout(() => (connection.close(), resolve()), 2000);
      connection.once('end', () => (clearTimeout(timer), resolve()));
      connection.on('error', () => undefined);
      connection.quit();
    });
  }

  private key(server: SmtpServer, plain: boolean): string {
    return `${serverName(server.config)}|${plain ? 'plain' : 'tls'}`;
  }

  /** Drops a server's sessions, so that its next use connects afresh. */
  private forget(server: SmtpServer): void {
    for (const plain of [false, true]) {
      const session = this.sessions.get(this.key(server, plain));
      if (session) void this.quit(session);
      this.sessions.delete(this.key(server, plain));
    }
  }

  private async sendOnce(server: SmtpServer, message: OutgoingMessage, plain: boolean, deadline: Date): Promise<SendReceipt> {
    if (deadline.getTime() <= this.options.clock.now().getTime()) throw failure('deadline passed', { code: 'EABORT' });
    const key = this.key(server, plain);
    let session = this.sessions.get(key);
    if (session && !session.alive) session = undefined;
    const reused = session !== undefined;
    if (!session) {
      session = await this.open(server, plain, deadline);
      this.sessions.set(key, session);
    }
    let info: SMTPConnection.SentMessageInfo;
    try {
      info = await this.transact(session, message, deadline);
    } catch (error) {
      // A reused connection the server had closed in between (its idle timeout) carried nothing: once more on a new one.
      const lost = error as { responseCode?: number; command?: string; code?: string };
      const nothingSent = lost.responseCode === undefined && (lost.command === undefined || lost.command === 'CONN' || lost.command === 'API') && lost.code !== 'EABORT';
      if (!reused || !nothingSent) throw error;
      this.sessions.delete(key);
      session = await this.open(server, plain, deadline);
      this.sessions.set(key, session);
      info = await this.transact(session, message, deadline);
    }
    // The patron's address as Nodemailer wrote it in RCPT TO (its domain in lower case, punycoded): a
    // refusal names it so. With it refused and a cc accepted, the notice itself was not delivered; the
    // copies that were are not sent again.
    const patron = message.envelope.to[0];
    const refused = ((info.rejectedErrors ?? []) as Array<{ recipient?: string }>).find((rejection) => rejection.recipient?.toLowerCase() === patron?.toLowerCase());
    if (refused) throw Object.assign(refused, { copiesAccepted: info.accepted.map(String) });
    // An acceptance is kept like a refusal, so a careless server's quoting of the login is taken out of it too.
    const secrets = this.secretsOf(server);
    const response = secrets.length > 0 && typeof info.response === 'string' ? redactSecrets(info.response, secrets) : info.response;
    return { transport: 'smtp', server: serverName(server.config), messageId: message.messageId, response, responseCode: replyCodeOf(response), enhancedStatus: enhancedStatusOf(response) };
  }

  /** One mail transaction on an open session; the session is reset after a refusal, dropped after anything else. */
  private async transact(session: Session, message: OutgoingMessage, deadline: Date): Promise<SMTPConnection.SentMessageInfo> {
    const { connection } = session;
    const body: Buffer | Readable = this.options.dkim ? new DKIM(this.options.dkim).sign(message.raw) : message.raw;
    // An empty envelope sender is the null sender, MAIL FROM:<> (RFC 5321 §4.5.5): reports go so.
    const envelope = { from: message.envelope.from === '' ? (false as const) : message.envelope.from, to: message.envelope.to };
    try {
      const info = await this.step<SMTPConnection.SentMessageInfo>(session, deadline, (done) => connection.send(envelope, body, (error, sent) => done(error, sent)));
      session.sent++;
      return info;
    } catch (error) {
      const refused = error as { responseCode?: number };
      if (session.alive && refused.responseCode !== undefined && refused.responseCode !== 421) {
        // The server refused this message; the connection itself is fine (RSET, RFC 5321 §4.1.1.5).
        await this.step<void>(session, deadline, (done) => connection.reset((resetError) => done(resetError))).catch(() => (session.alive = false));
      } else {
        session.alive = false;
        connection.close();
      }
      throw error;
    }
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
    const failed = error as { response?: unknown; message?: unknown };
    if (secrets.length === 0 || typeof failed !== 'object' || failed === null) return error;
    for (const field of ['response', 'message'] as const) {
      if (typeof failed[field] === 'string') failed[field] = redactSecrets(failed[field], secrets);
    }
    return error;
  }

  /** One server: TLS as configured, then plain if TLS cannot be made and the server allows it. */
  private async sendVia(server: SmtpServer, message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
    const name = serverName(server.config);
    let tlsFailure: unknown;
    try {
      const receipt = await this.sendOnce(server, message, false, options.deadline);
      options.tries?.push({ server: name, ok: true, reply: receipt.response });
      return receipt;
    } catch (caught) {
      const error = this.withoutSecrets(server, caught);
      if ((error as { code?: string })?.code === 'EAUTH') server.authRejected?.();
      if (needsNewConnection(error)) this.forget(server);
      if (!(server.config.allowNonSecure && server.config.tls !== 'none' && isTlsUnavailable(error))) {
        options.tries?.push({ server: name, ok: false, reply: describe(error) });
        throw error;
      }
      tlsFailure = error;
      options.tries?.push({ server: `${name} (TLS)`, ok: false, reply: describe(error) });
    }
    try {
      const receipt = await this.sendOnce(server, message, true, options.deadline);
      options.tries?.push({ server: `${name} (plain)`, ok: true, reply: receipt.response });
      // The history says so: the message crossed the network unencrypted, by the configuration's leave. The
      // note goes first and is short, so a long reply after it is what the history shortens, never the note.
      return { ...receipt, response: `${plainNote(tlsFailure)} ${receipt.response}` };
    } catch (caught) {
      const error = this.withoutSecrets(server, caught);
      if (needsNewConnection(error)) this.forget(server);
      options.tries?.push({ server: `${name} (plain)`, ok: false, reply: describe(error) });
      throw error;
    }
  }

  public send(message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
    const run = this.queue.then(() => this.sendInOrder(message, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sendInOrder(message: OutgoingMessage, options: SendOptions): Promise<SendReceipt> {
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
    throw lastError ?? deliveryFailure('ECONFIG', 'no SMTP server is configured', { transport: 'smtp' });
  }

  public async close(): Promise<void> {
    this.closed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((session) => this.quit(session)));
  }
}

/** After these the connection is unusable; after a refused recipient or message it is fine (it was reset). */
const needsNewConnection = (error: unknown): boolean =>
  isConnectionFailure(error) || ['EAUTH', 'EABORT', 'ETIMEDOUT', 'ESOCKET', 'ECONNECTION', 'EPROTOCOL', 'ETLS'].includes((error as { code?: string })?.code ?? '');

/** The longest part of a TLS failure the plain-text note quotes: the note must fit well inside a history entry. */
const MAX_NOTE_REASON = 120;

/** What a message sent in plain under allowNonSecure says before the server's reply, and why TLS could not be made. */
const plainNote = (tlsFailure: unknown): string => {
  const reason = describe(tlsFailure);
  return `(sent without TLS under allowNonSecure: ${reason.length > MAX_NOTE_REASON ? `${reason.slice(0, MAX_NOTE_REASON - 1)}…` : reason})`;
};

/** An error as one line for the Test Server: the server's reply when there is one. */
const describe = (error: unknown): string => {
  const failed = error as { response?: string; message?: string; code?: string };
  if (failed.code === 'EABORT') return "the attempt's deadline passed before the server answered";
  return (failed.response ?? failed.message ?? String(error)).replace(/\s+/g, ' ').trim();
};
