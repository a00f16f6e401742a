// SMTP (smtp-server) → the door's use cases (shared/submission) → SMTP replies. The same listener runs in
// `npm start` and in the Fargate tasks behind the Network Load Balancer: the submission port (STARTTLS,
// 587 on AWS) and the implicit TLS port (465), both answering with the domain's own replies.
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Config } from '../../shared/config/schema';
import type { TlsIdentity } from '../../shared/submission/certificate';
import { errorCode } from '../../shared/errors';
import type { Log, LogAttributes } from '../../shared/log';
import { checkRecipient } from '../../shared/submission/message';
import { isLoopback, SubmissionNetworks } from '../../shared/submission/networks';
import { type Fault, reply, replyFor, type SmtpReply, SmtpRefusalError } from '../../shared/submission/replies';
import {
  acceptMessage,
  admitMessage,
  authenticateSubmitter,
  networkSubmitter,
  RATE_REFUSALS_BEFORE_CLOSING,
  type MessageOutcome,
  type SubmissionDeps,
  type Submitter,
} from '../../shared/submission/submit';

export interface SmtpDoorDeps extends SubmissionDeps {
  config: Pick<Config, 'institutions' | 'intake' | 'smtpSubmission'>;
  log: Log;
}

export interface SmtpDoorOptions {
  /** The address to listen on (127.0.0.1 locally, 0.0.0.0 in a container). */
  host: string;
  /** STARTTLS submission (RFC 6409); 0 picks a free port. */
  submissionPort: number;
  /** Implicit TLS (RFC 8314); opened once there is a certificate. 0 picks a free port. */
  implicitTlsPort: number;
  /** Without one the door takes only plain submissions: no STARTTLS, no port 465, no login but on loopback. */
  tls?: TlsIdentity;
  /** The name in the greeting: the host name the ILS connects to. */
  name?: string;
  /**
   * Whether a client on this machine may log in without TLS (default true: nothing crosses a network).
   * False treats it as any other, which is how the tests see what another machine sees.
   */
  loopbackIsLocal?: boolean;
}

export interface SmtpDoor {
  host: string;
  submissionPort: number;
  /** Undefined until the door has a certificate. */
  implicitTlsPort?: number;
  /** Whether STARTTLS and port 465 are offered. */
  readonly tls: boolean;
  /** Takes a new or renewed certificate; opens the implicit TLS port the first time. */
  setTls(identity: TlsIdentity): Promise<void>;
  stop(): Promise<void>;
}

/** RFC 5321 §4.5.3.1.8: at least 100 recipients; more are told 452 and sent again in another transaction. */
export const MAX_RECIPIENTS = 100;
/**
 * The SIZE advertised: room for MIME's encoding around a notice of 256 KiB, the API's limit, which each
 * notice of the message is still held to (552 5.3.4 either way).
 */
export const MAX_MESSAGE_BYTES = 512 * 1024;
/** Connections one door serves at once (a task has 1 GiB; each may hold a message of MAX_MESSAGE_BYTES). */
export const MAX_CONNECTIONS = 200;
/** Failed logins on one connection before it is closed (421 4.7.0): guessing keys costs a connection each time. */
const LOGIN_FAILURES_BEFORE_CLOSING = 3;

/** What a connection has shown so far. */
interface ConnectionState {
  submitter?: Submitter;
  /** The submitter of the transaction under way (set at MAIL FROM). */
  sender?: Submitter;
  loginFailures: number;
  rateRefusals: number;
}

/**
 * A refused message, logged at the level of whose it is: one the client must fix is its business (INFO),
 * as is one to send again later, over its rate say (WARN); one the door could not take because its store
 * did not answer is ours (ERROR, which the SmtpDoorErrors alarm counts).
 */
const logRefusal = (log: Log, fault: Fault | undefined, attributes: LogAttributes & { code: number }): void => {
  if (fault === 'door') log.error('smtp message refused', attributes);
  else if (attributes.code >= 500) log.info('smtp message refused', attributes);
  else log.warn('smtp message refused', attributes);
};

const smtpError = (smtp: SmtpReply): Error => Object.assign(new Error(`${smtp.status} ${smtp.text}`), { responseCode: smtp.code });

/** Reads the message, keeping at most `limit` bytes: the rest is drained, and the message refused. */
const readMessage = (stream: NodeJS.ReadableStream & { sizeExceeded?: boolean }, limit: number): Promise<{ raw: Buffer; tooBig: boolean }> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= limit) chunks.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve({ raw: Buffer.concat(chunks), tooBig: bytes > limit || stream.sizeExceeded === true }));
  });

/**
 * Starts the door. Each accepted message goes through acceptMessage (shared/submission), and so through
 * the same acceptNotices as POST /v1/notices.
 * @example
 * const door = await startSmtpDoor(deps, { host: '127.0.0.1', submissionPort: 2587, implicitTlsPort: 2465, tls });
 */
export const startSmtpDoor = async (deps: SmtpDoorDeps, options: SmtpDoorOptions): Promise<SmtpDoor> => {
  const networks = new SubmissionNetworks(deps.config.institutions, deps.config.smtpSubmission.loginFrom);
  const states = new Map<string, ConnectionState>();
  let tls: TlsIdentity | undefined = options.tls;
  const local = (remote: string) => options.loopbackIsLocal !== false && isLoopback(remote);
  const stateOf = (session: SMTPServerSession): ConnectionState => {
    let state = states.get(session.id);
    if (!state) states.set(session.id, (state = { loginFailures: 0, rateRefusals: 0 }));
    return state;
  };

  /**
   * What a connection may not use yet: STARTTLS without a certificate, and AUTH before TLS but on this
   * machine (RFC 4954 §4: a plain-text password is only sent over an encrypted channel), so a client never
   * sees AUTH offered where it would send an API key in clear.
   */
  const disabledFor = (session: SMTPServerSession): string[] | undefined => {
    const commands = [...(tls ? [] : ['STARTTLS']), ...(session.secure || local(session.remoteAddress) ? [] : ['AUTH'])];
    return commands.length > 0 ? commands : undefined;
  };

  const makeServer = (secure: boolean): SMTPServer => {
    /**
     * smtp-server would prefix a refusal with the enhanced status code it derives from the reply code alone
     * (550 → 5.1.1, for a refused From too); ours carry their own, so its is left out of that one reply.
     * The handlers' callbacks send synchronously, so no other reply is affected.
     */
    const refuse = (callback: (error?: Error | null) => void, smtp: SmtpReply) => {
      server.options.hideENHANCEDSTATUSCODES = true;
      try {
        callback(smtpError(smtp));
      } finally {
        server.options.hideENHANCEDSTATUSCODES = false;
      }
    };
    const serverOptions: SMTPServerOptions = {
      secure,
      ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      name: options.name,
      banner: 'Notice Relay',
      size: MAX_MESSAGE_BYTES,
      maxRecipients: MAX_RECIPIENTS,
      // Each connection may hold a message of up to SIZE in memory: more are told 421, and come back.
      maxClients: MAX_CONNECTIONS,
      hideENHANCEDSTATUSCODES: false,
      authMethods: ['PLAIN', 'LOGIN'],
      // No login needed by the networks an institution lists; the MAIL FROM handler decides who else may send.
      authOptional: true,
      // Whether AUTH is offered is decided per connection (disabledFor), not by this global switch.
      allowInsecureAuth: true,
      // Reverse DNS would stall every greeting of a machine offline, and says nothing the address does not.
      disableReverseLookup: true,
      // Its log would carry the commands, addresses among them: the door logs notice ids and codes itself.
      logger: false,
      onConnect: (session, callback) => {
        if (!networks.mayConnect(session.remoteAddress)) {
          deps.log.warn('smtp connection refused', { remote: session.remoteAddress });
          return callback(smtpError(reply(554, '5.7.1', `Connections from ${session.remoteAddress} are not accepted: it is in no institution's smtpSubmission.allowFrom nor in smtpSubmission.loginFrom.`)));
        }
        session.disabledCommands = disabledFor(session);
        callback();
      },
      onSecure: (_socket, session, callback) => {
        session.disabledCommands = disabledFor(session);
        callback();
      },
      onAuth: (auth, session, callback) => {
        const state = stateOf(session);
        try {
          state.submitter = authenticateSubmitter(deps.keyRing, auth.username ?? '', auth.password ?? '');
          deps.log.info('smtp login', { institution: state.submitter.institution.id, remote: session.remoteAddress });
          callback(null, { user: state.submitter.institution.id });
        } catch (error) {
          state.loginFailures++;
          // The user name is logged only when it is an institution's id: a client may have put its key there.
          const named = deps.config.institutions.find((institution) => institution.id === auth.username?.trim().toLowerCase());
          deps.log.warn('smtp login refused', { institution: named?.id, remote: session.remoteAddress, failures: state.loginFailures });
          refuse(
            callback,
            state.loginFailures >= LOGIN_FAILURES_BEFORE_CLOSING
              ? reply(421, '4.7.0', 'Too many failed logins on this connection; closing it.')
              : replyFor(error).reply,
          );
        }
      },
      onMailFrom: (_address, session, callback) => {
        const state = stateOf(session);
        const institution = state.submitter ? undefined : networks.institutionFor(session.remoteAddress);
        const submitter = state.submitter ?? (institution ? networkSubmitter(institution) : undefined);
        if (!submitter) {
          const how = session.secure || local(session.remoteAddress) ? 'log in (AUTH)' : 'start TLS (STARTTLS) and log in (AUTH)';
          deps.log.info('smtp message refused', { remote: session.remoteAddress, code: 530, reason: 'login_required' });
          return refuse(
            callback,
            reply(530, '5.7.0', `Authentication required: ${how} with the institution's id and one of its API keys, or send from a network in its smtpSubmission.allowFrom (this connection comes from ${session.remoteAddress}).`),
          );
        }
        admitMessage(deps, submitter).then(
          () => {
            state.sender = submitter;
            callback();
          },
          (error: unknown) => {
            const { reply: refusal, reason, fault, errorCode: cause } = replyFor(error);
            if (reason === 'rate_limited') state.rateRefusals++;
            const closing = state.rateRefusals >= RATE_REFUSALS_BEFORE_CLOSING;
            logRefusal(deps.log, fault, { institution: submitter.institution.id, via: submitter.via, code: closing ? 421 : refusal.code, reason, errorCode: cause });
            refuse(callback, closing ? reply(421, '4.7.0', `${refusal.text} This connection keeps sending over its rate; closing it.`) : refusal);
          },
        );
      },
      onRcptTo: (address, _session, callback) => {
        try {
          checkRecipient(address.address);
          callback();
        } catch (error) {
          const { reply: refusal, reason } = replyFor(error);
          deps.log.info('smtp recipient refused', { code: refusal.code, reason });
          refuse(callback, refusal);
        }
      },
      onData: (stream, session, callback) => {
        const state = stateOf(session);
        const submitter = state.sender as Submitter;
        const recipients = session.envelope.rcptTo.map((recipient) => checkRecipient(recipient.address));
        readMessage(stream, MAX_MESSAGE_BYTES)
          .then(async ({ raw, tooBig }) => {
            if (tooBig) throw new SmtpRefusalError(reply(552, '5.3.4', `Message too big: the limit is ${MAX_MESSAGE_BYTES} bytes (SIZE). Nothing was accepted.`), 'message_too_big');
            return acceptMessage(deps, submitter, recipients, raw);
          })
          .catch((error: unknown): MessageOutcome => replyFor(error))
          .then((outcome) => {
            const attributes = { institution: submitter.institution.id, via: submitter.via, code: outcome.reply.code, reason: outcome.reason, errorCode: outcome.errorCode };
            if (outcome.reply.code === 250) {
              deps.log.info('smtp message accepted', { ...attributes, notices: outcome.ids?.length, alreadyAccepted: outcome.alreadyAccepted || undefined, ids: outcome.ids && outcome.ids.length <= 10 ? outcome.ids : undefined });
              callback(null, outcome.reply.text);
            } else {
              logRefusal(deps.log, outcome.fault, attributes);
              refuse(callback, outcome.reply);
            }
          });
      },
      onClose: (session) => {
        states.delete(session.id);
      },
    };
    const server = new SMTPServer(serverOptions);
    // A client that resets the connection, or a TLS handshake that fails, is the client's business.
    server.on('error', (error: Error) => deps.log.debug('smtp connection error', { code: errorCode(error) }));
    return server;
  };

  const listen = (server: SMTPServer, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, options.host, () => {
        server.server.removeListener('error', reject);
        resolve((server.server.address() as AddressInfo).port);
      });
    });
  const close = (server: SMTPServer | undefined): Promise<void> => (server ? new Promise((resolve) => server.close(() => resolve())) : Promise.resolve());

  const submission = makeServer(false);
  const submissionPort = await listen(submission, options.submissionPort);
  let implicit: SMTPServer | undefined;
  let implicitTlsPort: number | undefined;
  const openImplicit = async () => {
    implicit = makeServer(true);
    try {
      implicitTlsPort = await listen(implicit, options.implicitTlsPort);
    } catch (error) {
      implicit = undefined;
      throw error;
    }
  };
  try {
    if (tls) await openImplicit();
  } catch (error) {
    await close(submission);
    throw error;
  }

  return {
    host: options.host,
    submissionPort,
    get implicitTlsPort() {
      return implicitTlsPort;
    },
    get tls() {
      return tls !== undefined;
    },
    setTls: async (identity) => {
      // A certificate that does not go with its key is refused here, before any client sees it.
      createSecureContext({ cert: identity.cert, key: identity.key });
      tls = identity;
      submission.updateSecureContext({ key: identity.key, cert: identity.cert });
      if (implicit) implicit.updateSecureContext({ key: identity.key, cert: identity.cert });
      else await openImplicit();
    },
    stop: async () => {
      await Promise.all([close(submission), close(implicit)]);
    },
  };
};

