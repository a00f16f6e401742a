// Opens the transport an institution's configuration describes, with its secrets, for one sender
// batch (or one Test Server run). A session keeps one transport per institution, so connections are
// reused within the batch and closed at its end.
import type { SESClient } from '@aws-sdk/client-ses';
import type { Clock } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { domainOf } from '../config/domains';
import { dkimKeyProblem } from '../dns/dkim-key';
import { ConfigError, errorCode } from '../errors';
import { deliveryFailure } from './classify';
import type { InstitutionSecrets, SecretSource } from '../secrets';
import { oauth2SecretForms, type OAuth2Tokens } from './oauth2';
import { SesTransport } from './ses-transport';
import type { SmtpAuth, SmtpServer } from './smtp-transport';
import { serverName, type Transport } from './transport';

export interface TransportDeps {
  clock: Clock;
  secrets: SecretSource;
  /** OAuth2 tokens, kept for the whole process (not per batch). */
  tokens: OAuth2Tokens;
  /** The SES client; absent where no institution sends through SES. */
  ses?: SESClient;
  /** Seconds to wait for an SMTP connection and greeting. */
  connectSeconds?: number;
  /** Wraps every transport opened (fault injection in the reliability tests). */
  decorate?: (transport: Transport, institution: InstitutionConfig) => Transport;
}

/**
 * The SMTP stack (Nodemailer's connection and DKIM signer) is loaded when an institution first sends
 * through its own servers, not at a cold start: a function whose institutions all send through SES never
 * runs it. A `require` rather than `import()`, so that esbuild keeps it in the bundle behind a lazy
 * initialiser and Jest, which runs the modules as CommonJS, loads it alike.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadSmtpStack = (): typeof import('./smtp-transport') => require('./smtp-transport');

const missingCredential = (institution: InstitutionConfig, server: string, what: string) =>
  deliveryFailure('ENOAUTH', `no ${what} for ${server}: set it in the configuration or in the secret of institution ${institution.id}`, { transport: 'smtp', server });

/** Opens the transport of one institution; with `serverIndex`, that SMTP server alone (the Test Server). */
export const openTransport = async (institution: InstitutionConfig, deps: TransportDeps, serverIndex?: number): Promise<Transport> => {
  const transport = await openPlainTransport(institution, deps, serverIndex);
  return deps.decorate ? deps.decorate(transport, institution) : transport;
};

const openPlainTransport = async (institution: InstitutionConfig, deps: TransportDeps, serverIndex?: number): Promise<Transport> => {
  const transport = institution.transport;
  if (transport.kind === 'ses') {
    if (!deps.ses) throw deliveryFailure('ECONFIG', 'SES is not available to this sender', { transport: 'ses', server: 'ses' });
    return new SesTransport({ client: deps.ses, configurationSet: transport.configurationSet, clock: deps.clock });
  }
  let secrets: InstitutionSecrets;
  try {
    secrets = await deps.secrets.forInstitution(institution.id);
  } catch (error) {
    throw deliveryFailure(
      'ESECRET',
      `the secret of institution ${institution.id} could not be read (${errorCode(error)}): ${error instanceof ConfigError ? error.message : 'see the sender log'}`,
      { transport: 'smtp', server: 'Secrets Manager' },
      error,
    );
  }
  const servers: SmtpServer[] = transport.servers.map((config, index) => {
    const auth = config.auth;
    if (!auth) return { config };
    const name = serverName(config);
    if ('type' in auth) {
      const key = `${institution.id}/${index}`;
      const settings = {
        ...auth,
        clientSecret: auth.clientSecret ?? secrets.servers?.[index]?.clientSecret,
        refreshToken: auth.refreshToken ?? secrets.servers?.[index]?.refreshToken,
      };
      return {
        config,
        auth: async (): Promise<SmtpAuth> => {
          if (!settings.clientSecret && !settings.refreshToken) throw missingCredential(institution, name, 'OAuth2 client secret or refresh token');
          return { type: 'OAuth2', user: auth.user, accessToken: await deps.tokens.accessToken(key, name, settings) };
        },
        authRejected: () => deps.tokens.invalidate(key),
        secretValues: oauth2SecretForms(settings),
      };
    }
    const pass = auth.pass ?? secrets.servers?.[index]?.pass;
    return {
      config,
      auth: async (): Promise<SmtpAuth> => {
        if (!pass) throw missingCredential(institution, name, 'password');
        return { user: auth.user, pass };
      },
    };
  });
  const dkimKey = transport.dkim ? (transport.dkim.privateKey ?? secrets.dkimPrivateKey) : undefined;
  // Signing was asked for: mail without it could fail the domain's DMARC policy, so none goes out unsigned.
  if (transport.dkim && !dkimKey) throw missingCredential(institution, `DKIM selector ${transport.dkim.selector}`, 'DKIM private key');
  const keyProblem = transport.dkim && dkimKey ? dkimKeyProblem(dkimKey) : undefined;
  if (transport.dkim && keyProblem) {
    throw deliveryFailure('EDKIMKEY', `the DKIM private key of institution ${institution.id} ${keyProblem}; nothing is sent unsigned`, {
      transport: 'smtp',
      server: `DKIM selector ${transport.dkim.selector}`,
    });
  }
  const { SmtpTransport } = loadSmtpStack();
  return new SmtpTransport({
    servers: serverIndex === undefined ? servers : servers.slice(serverIndex, serverIndex + 1),
    clientName: domainOf(institution.from.address),
    clock: deps.clock,
    connectSeconds: deps.connectSeconds,
    dkim: transport.dkim && dkimKey ? { domainName: domainOf(institution.from.address), keySelector: transport.dkim.selector, privateKey: dkimKey } : undefined,
  });
};

/** The transports of one batch: opened on first use, closed together. */
export class TransportSession {
  private readonly transports = new Map<string, Promise<Transport>>();

  public constructor(private readonly deps: TransportDeps) {}

  public for(institution: InstitutionConfig): Promise<Transport> {
    let transport = this.transports.get(institution.id);
    if (!transport) {
      transport = openTransport(institution, this.deps);
      this.transports.set(institution.id, transport);
      // A failed open is not kept: the next notice tries again.
      transport.catch(() => this.transports.delete(institution.id));
    }
    return transport;
  }

  public async close(): Promise<void> {
    const open = [...this.transports.values()];
    this.transports.clear();
    await Promise.all(open.map((transport) => transport.then((t) => t.close(), () => undefined)));
  }
}
