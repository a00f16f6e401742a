// The console's Email settings (docs/staff/console.md), laid out as library staff know such a page:
// how mail leaves, Server 1 and Server 2, the sending limits, the transport's state, and the Test Server
// with its last result. Read-only: each setting names the configuration key (or the secret's field) that
// changes it. No password, client secret, token or key ever reaches the page: only where it is kept.
import type { Config, InstitutionConfig, SmtpServerConfig } from '../config/schema';
import { providerOfHost } from '../config/oauth-providers';
import type { TransportDesk, TransportStatus } from '../transport/desk';

/** Where secrets are kept: the configuration file (npm start) or the institution's Secrets Manager secret (AWS). */
export type Deployment = 'local' | 'aws';

export interface Setting {
  label: string;
  value: string;
  /** The configuration key, or the secret's field, that changes it. */
  changedBy: string;
}

export interface ServerSettings {
  title: string;
  settings: Setting[];
}

export interface EmailSettings {
  method: { label: string; description: string; changedBy: string };
  general: Setting[];
  servers: ServerSettings[];
  limits: Setting[];
  status: TransportStatus;
  /** Where the Test Server sends when no address is typed. */
  testTo: string;
}

const TLS_WORDS: Record<string, string> = {
  implicit: 'TLS from the start (usually port 465)',
  starttls: 'STARTTLS, required (usually port 587 or 25)',
  none: 'none: plain SMTP',
};

/** How mail leaves, named as a library's staff would: Amazon SES, Google, Microsoft 365, or their own servers. */
const methodOf = (institution: InstitutionConfig): EmailSettings['method'] => {
  const transport = institution.transport;
  if (transport.kind === 'ses') return { label: 'Amazon SES', description: "Notice Relay sends through Amazon SES in the library's AWS account, signed with Easy DKIM.", changedBy: 'transport.kind' };
  const first = transport.servers[0] as SmtpServerConfig;
  const provider = first.auth && 'type' in first.auth ? first.auth.provider : providerOfHost(first.host);
  if (provider === 'google') return { label: 'Google', description: 'Notice Relay sends through Google Workspace (Gmail) with an OAuth2 authorisation.', changedBy: 'transport.servers' };
  if (provider === 'microsoft') return { label: 'Microsoft 365', description: 'Notice Relay sends through Microsoft 365 (Exchange Online) with an OAuth2 authorisation.', changedBy: 'transport.servers' };
  return { label: 'Your own servers', description: "Notice Relay sends through the library's mail server; Server 2, when set, takes over when Server 1 does not answer.", changedBy: 'transport.servers' };
};

const secretField = (deployment: Deployment, fileKey: string, secretKey: string): string =>
  deployment === 'aws' ? `the institution's secret in Secrets Manager: ${secretKey}` : `${fileKey} in the configuration file, or ${secretKey} in the institution's secret on AWS`;

const serverSettings = (server: SmtpServerConfig, index: number, at: string, deployment: Deployment): ServerSettings => {
  const key = `${at}.transport.servers[${index}]`;
  const auth = server.auth;
  const login: Setting[] = !auth
    ? [{ label: 'Login', value: 'none', changedBy: `${key}.auth` }]
    : 'type' in auth
      ? [
          { label: 'Login', value: `${auth.user} (OAuth2, ${auth.provider})`, changedBy: `${key}.auth.user` },
          { label: 'OAuth2 client', value: auth.clientId, changedBy: `${key}.auth.clientId` },
          { label: 'Client secret and refresh token', value: 'kept secret; never shown', changedBy: secretField(deployment, `${key}.auth.clientSecret and .refreshToken`, `servers[${index}].clientSecret, servers[${index}].refreshToken`) },
        ]
      : [
          { label: 'Login', value: auth.user, changedBy: `${key}.auth.user` },
          { label: 'Password', value: 'kept secret; never shown', changedBy: secretField(deployment, `${key}.auth.pass`, `servers[${index}].pass`) },
        ];
  return {
    title: `Server ${index + 1}${index === 0 ? ' (primary)' : ' (backup)'}`,
    settings: [
      { label: 'SMTP server', value: server.host, changedBy: `${key}.host` },
      { label: 'Port', value: String(server.port), changedBy: `${key}.port` },
      { label: 'Security (TLS)', value: TLS_WORDS[server.tls] ?? server.tls, changedBy: `${key}.tls` },
      {
        label: 'Allow non-secure connections',
        value: server.tls === 'none' ? 'not applicable: TLS is off' : server.allowNonSecure ? 'yes: plain SMTP when TLS cannot be made' : 'no: never sent without TLS',
        changedBy: `${key}.allowNonSecure`,
      },
      { label: 'Private certificate authority', value: server.ca ? 'yes: trusted for this server' : 'no: public certificates only', changedBy: `${key}.ca` },
      ...login,
    ],
  };
};

/**
 * The institution's email settings for the page, with the transport's live state.
 * @example
 * const settings = await emailSettings({ desk, config, deployment: 'local' }, institution);
 */
export const emailSettings = async (deps: { desk: TransportDesk; config: Config; deployment: Deployment }, institution: InstitutionConfig): Promise<EmailSettings> => {
  const index = deps.config.institutions.findIndex((candidate) => candidate.id === institution.id);
  const at = `institutions[${index}]`;
  const transport = institution.transport;
  const status = await deps.desk.status(institution);
  const general: Setting[] = [
    { label: 'Sends as', value: institution.from.text, changedBy: `${at}.from` },
    { label: 'Return-to-sender reports go to', value: institution.bounceTo, changedBy: `${at}.bounceTo` },
    { label: 'Test emails go to', value: institution.testTo ?? `${institution.bounceTo} (no testTo set)`, changedBy: `${at}.testTo` },
  ];
  if (transport.kind === 'ses') {
    general.push(
      { label: 'MAIL FROM domain', value: status.mailFromDomain ?? '', changedBy: `${at}.transport.mailFromDomain` },
      { label: 'Configuration set', value: transport.configurationSet ?? "the stack's own", changedBy: `${at}.transport.configurationSet` },
    );
  } else {
    general.push({
      label: 'DKIM signing',
      value: transport.dkim ? `selector ${transport.dkim.selector}; the private key is kept secret` : 'off: mail is sent as the server signs it',
      changedBy: transport.dkim ? `${at}.transport.dkim.selector; the key: ${secretField(deps.deployment, `${at}.transport.dkim.privateKey`, 'dkimPrivateKey')}` : `${at}.transport.dkim`,
    });
  }
  const limits: Setting[] = [
    { label: 'At most per minute', value: transport.maxPerMinute ? String(transport.maxPerMinute) : 'no limit', changedBy: `${at}.transport.maxPerMinute` },
    { label: 'At most per day (recipients)', value: transport.maxPerDay ? String(transport.maxPerDay) : 'no limit', changedBy: `${at}.transport.maxPerDay` },
  ];
  return {
    method: { ...methodOf(institution), changedBy: `${at}.${methodOf(institution).changedBy}` },
    general,
    servers: transport.kind === 'smtp' ? transport.servers.map((server, i) => serverSettings(server, i, at, deps.deployment)) : [],
    limits,
    status,
    testTo: institution.testTo ?? institution.bounceTo,
  };
};
