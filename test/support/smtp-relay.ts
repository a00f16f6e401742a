// Real SMTP servers for tests (smtp-server on 127.0.0.1): plain, STARTTLS or implicit TLS, with or
// without authentication, answering RCPT TO and DATA as a test scripts them, and keeping what they receive.
import { type ParsedMail, simpleParser } from 'mailparser';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface Received {
  at: Date;
  envelope: { from: string; to: string[] };
  /** The connection was TLS (implicit or after STARTTLS). */
  secure: boolean;
  user?: string;
  raw: Buffer;
  parsed: ParsedMail;
}

/**
 * A scripted reply: `undefined` accepts; `drop` closes the connection without a word; `stall` (to the
 * data) takes the message and never answers, until the client gives up.
 */
export type Reply = { code: number; message: string } | 'drop' | 'stall' | undefined;

export interface RelayOptions {
  /** Implicit TLS (port 465 style). */
  secure?: boolean;
  /** The certificate the relay presents (for STARTTLS or implicit TLS). */
  tls?: { cert: string; key: string };
  /** Offer STARTTLS (default: when not implicit). */
  starttls?: boolean;
  /** Require this login. */
  auth?: { user: string; pass: string };
  /** Refuse a login quoting what was sent, as a careless relay does. */
  quoteRefusedLogin?: boolean;
  /** Accept each message quoting the login it came with, as a careless relay might. */
  quoteAcceptedLogin?: boolean;
  /** Require XOAUTH2 for this user, with a token the set holds (the test's token endpoint fills it). */
  oauth2?: { user: string; validTokens: Set<string> };
  /**
   * Refuse every recipient with `554 5.7.1 <address>: Relay access denied` unless the session logged in,
   * as Postfix does for a client not in mynetworks. Read at each RCPT TO, so a test can change it.
   */
  refuseRelay?: boolean;
  /** Decides the reply to each RCPT TO; the default accepts. */
  onRcptTo?: (address: string, attempt: number) => Reply;
  /**
   * Decides the reply after DATA; the default accepts. 'drop': the message arrives and the connection goes,
   * unconfirmed. A promise holds the reply until it settles (something that must happen while the relay holds
   * the message).
   */
  onData?: (message: Buffer, attempt: number) => Reply | Promise<Reply>;
  /** Words the relay adds to its 250 reply to a message (a long reply, as some relays give). */
  acceptedWords?: string;
  /** Delay before answering DATA, in milliseconds (a slow relay). */
  dataDelayMs?: number;
  /** Keep only the Message-ID and headers' text of what arrives, not a full parse (for thousands of messages). */
  light?: boolean;
  port?: number;
}

export interface Relay {
  host: string;
  port: number;
  received: Received[];
  /** Messages the relay took whole and then dropped the connection instead of confirming. */
  droppedAfterData: number;
  /** Messages the relay took whole and never answered (`stall`). */
  stalledAfterData: number;
  /** RCPT TO commands seen, accepted or not, by address. */
  rcptAttempts: Map<string, number>;
  /** RCPT TO times by address, for the gaps between retries. */
  rcptTimes: Map<string, Date[]>;
  connections: number;
  /** XOAUTH2 tokens presented, in order. */
  oauthAttempts: string[];
  /** Every command line the relay read, in order, as smtp-server logs them (credentials masked). */
  commands: string[];
  /** How many commands of this verb (`AUTH`, `QUIT`, `STARTTLS`, `MAIL`…) the relay read. */
  count(verb: string): number;
  stop(): Promise<void>;
}

const errorWith = (reply: { code: number; message: string }) => Object.assign(new Error(reply.message), { responseCode: reply.code });

/** The few headers a light relay keeps, parsed by hand. */
const lightParse = (raw: Buffer): ParsedMail => {
  const head = raw.toString('utf8', 0, Math.min(raw.length, 8192)).split(/\r?\n\r?\n/)[0] ?? '';
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim();
  const headers = new Map<string, string>();
  for (const name of ['x-notice-report-for', 'x-notice-id']) {
    const value = field(name);
    if (value) headers.set(name, value);
  }
  return { messageId: field('message-id'), subject: field('subject'), headers } as unknown as ParsedMail;
};

export const startRelay = async (options: RelayOptions = {}): Promise<Relay> => {
  const received: Received[] = [];
  const rcptAttempts = new Map<string, number>();
  const rcptTimes = new Map<string, Date[]>();
  let dataAttempts = 0;
  const logins = new Map<string, string>();
  const commands: string[] = [];
  const relay: Relay = {
    host: '127.0.0.1',
    port: 0,
    received,
    droppedAfterData: 0,
    stalledAfterData: 0,
    rcptAttempts,
    rcptTimes,
    connections: 0,
    oauthAttempts: [],
    commands,
    count: (verb) => commands.filter((line) => line.split(/[ :]/)[0]?.toUpperCase() === verb.toUpperCase()).length,
    stop: async () => undefined,
  };
  // smtp-server's own log of each command it reads (bunyan style): the relay's record of the conversation.
  const keep = (entry: { tnx?: string } | undefined, _label: unknown, line: unknown) => {
    if (entry?.tnx === 'command' && typeof line === 'string') commands.push(line);
  };
  const ignore = () => undefined;
  // The connection of a session goes away mid-conversation, as when a relay crashes.
  const drop = (session: SMTPServerSession) => {
    const connection = [...(server as unknown as { connections: Set<{ session: SMTPServerSession; _socket: Socket }> }).connections].find((c) => c.session.id === session.id);
    connection?._socket.destroy();
  };
  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    // A relay "without STARTTLS" must refuse the command, not merely leave it unadvertised.
    hideSTARTTLS: options.secure ? true : options.starttls === false,
    authOptional: (!options.auth && !options.oauth2) || options.refuseRelay !== undefined,
    allowInsecureAuth: true,
    authMethods: options.oauth2 ? ['XOAUTH2'] : ['PLAIN', 'LOGIN'],
    disabledCommands: [...(options.auth || options.oauth2 ? [] : ['AUTH']), ...(options.starttls === false ? ['STARTTLS'] : [])],
    logger: false,
    onConnect: (_session, callback) => {
      relay.connections++;
      callback();
    },
    onAuth: (auth, _session, callback) => {
      if (options.oauth2 && auth.method === 'XOAUTH2') {
        relay.oauthAttempts.push(auth.accessToken ?? '');
        if (auth.username === options.oauth2.user && options.oauth2.validTokens.has(auth.accessToken ?? '')) return callback(null, { user: auth.username });
        // RFC 7628 §3.2.2: the server's error is a JSON challenge, then 535.
        return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' } });
      }
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        logins.set(_session.id, `${auth.username}/${auth.password}`);
        return callback(null, { user: auth.username });
      }
      const quoted = options.quoteRefusedLogin ? ` for ${auth.username}/${auth.password}` : '';
      return callback(Object.assign(new Error(`5.7.8 Authentication credentials invalid${quoted}`), { responseCode: 535 }));
    },
    onRcptTo: (address, session, callback) => {
      const attempt = (rcptAttempts.get(address.address) ?? 0) + 1;
      rcptAttempts.set(address.address, attempt);
      rcptTimes.set(address.address, [...(rcptTimes.get(address.address) ?? []), new Date()]);
      if (options.refuseRelay && !session.user) return callback(errorWith({ code: 554, message: `5.7.1 <${address.address}>: Relay access denied` }));
      const reply = options.onRcptTo?.(address.address, attempt);
      if (reply === 'drop' || reply === 'stall') return drop(session);
      callback(reply ? errorWith(reply) : undefined);
    },
    onData: (stream, session: SMTPServerSession, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const reply = await options.onData?.(raw, ++dataAttempts);
        // Unref'd: a relay holding a message for a long time does not keep the test process alive after it.
        if (options.dataDelayMs) await new Promise((resolve) => setTimeout(resolve, options.dataDelayMs).unref());
        if (reply === 'drop') return (relay.droppedAfterData++, drop(session));
        if (reply === 'stall') return void relay.stalledAfterData++;
        if (reply) return callback(errorWith(reply));
        received.push({
          at: new Date(),
          envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
          raw,
          parsed: options.light ? lightParse(raw) : await simpleParser(raw),
        });
        const quoted = options.quoteAcceptedLogin ? `, authenticated as ${logins.get(session.id)}` : '';
        const words = options.acceptedWords ? ` ${options.acceptedWords}` : '';
        callback(null, `2.0.0 Ok: queued as ${received.length}${quoted}${words}`);
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  // Given at construction, a logger would make smtp-server warn about its built-in test certificate on
  // every start; set afterwards, it only hears the commands.
  (server as unknown as { logger: Record<string, unknown> }).logger = { trace: ignore, debug: keep, info: ignore, warn: ignore, error: ignore, fatal: ignore };
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    server.server.once('error', reject);
  });
  relay.port = (server.server.address() as AddressInfo).port;
  relay.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return relay;
};

/** A TCP server that accepts connections and never says a word: a hung relay. */
export const startSilentServer = async (): Promise<{ port: number; connections: number; stop(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const state = { port: 0, connections: 0, stop: async () => undefined as void };
  const server: Server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.port = (server.address() as AddressInfo).port;
  state.stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return state;
};

/** Messages the relay received for an address, by Message-ID: more than one per id is a duplicate. */
export const receivedFor = (relay: Relay, address: string): Received[] => relay.received.filter((r) => r.envelope.to.includes(address));
