// The SMTP door of `npm start` (docs/integrator/smtp-door.md): its ports from the environment,
// its certificate from NOTICE_RELAY_TLS_CERT/_KEY (the API's) or, on this machine alone, one made at start,
// and the banner's lines, with an example to paste.
import type { Env } from '../../shared/deps';
import type { InstitutionConfig } from '../../shared/config/schema';
import type { TlsIdentity } from '../../shared/submission/certificate';
import { isLoopback } from '../../shared/submission/networks';
import { type SmtpDoor, type SmtpDoorDeps, startSmtpDoor } from './listener';
import { makeLoopbackCertificate } from './local-certificate';

/** Above 1024, so no privileges are needed; an ILS is pointed at them instead of 587 and 465. */
export const DEFAULT_SMTP_PORTS = { NOTICE_RELAY_SMTP_PORT: 2587, NOTICE_RELAY_SMTPS_PORT: 2465 } as const;

/** What the banner says of the door. */
export interface LocalSmtpDoor {
  host: string;
  submissionPort: number;
  implicitTlsPort?: number;
  /** `given`: NOTICE_RELAY_TLS_CERT/_KEY; `made`: self-signed at start, for this machine; `none`: plain only. */
  certificate: 'given' | 'made' | 'none';
}

const portOf = (env: Env, name: keyof typeof DEFAULT_SMTP_PORTS): number => {
  const value = env[name];
  if (value === undefined || value === '') return DEFAULT_SMTP_PORTS[name];
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number, not ${value}`);
  return port;
};

/**
 * Starts the door on `host`, with the API's certificate when it has one. Without one a certificate is made
 * only for a door on this machine alone: one other machines reach must have a certificate they can trust,
 * so without it the door takes only plain submissions from the networks of `smtpSubmission.allowFrom`.
 */
export const startLocalSmtpDoor = async (deps: SmtpDoorDeps, env: Env, options: { host: string; tls?: TlsIdentity }): Promise<{ door: SmtpDoor; summary: LocalSmtpDoor }> => {
  const local = isLoopback(options.host) || options.host === 'localhost';
  const tls = options.tls ?? (local ? makeLoopbackCertificate() : undefined);
  const door = await startSmtpDoor(deps, {
    host: options.host,
    submissionPort: portOf(env, 'NOTICE_RELAY_SMTP_PORT'),
    implicitTlsPort: portOf(env, 'NOTICE_RELAY_SMTPS_PORT'),
    tls,
    name: local ? 'localhost' : undefined,
  });
  return {
    door,
    summary: { host: options.host, submissionPort: door.submissionPort, implicitTlsPort: door.implicitTlsPort, certificate: options.tls ? 'given' : tls ? 'made' : 'none' },
  };
};

/**
 * The banner's lines for the door: where it listens, how to log in, and a swaks command to paste
 * (swaks, the "Swiss Army Knife for SMTP", is in most distributions' packages). `key` is the API key to
 * show, or a placeholder when the banner must not show one.
 */
export const smtpDoorBanner = (door: LocalSmtpDoor, institution: InstitutionConfig | undefined, key: string): { summary: string[]; example: string[] } => {
  const host = door.host === '0.0.0.0' || door.host === '::' ? '127.0.0.1' : door.host;
  const tlsPort = door.implicitTlsPort === undefined ? '' : ` and ${door.implicitTlsPort} (TLS)`;
  const certificate = {
    given: 'the certificate of NOTICE_RELAY_TLS_CERT',
    made: 'a certificate made at start, for this machine only',
    none: 'no certificate: no STARTTLS, no TLS port, no login from other machines',
  }[door.certificate];
  const summary = [`  SMTP door      ${host}:${door.submissionPort} (STARTTLS)${tlsPort}   (user: an institution id, password: one of its API keys; ${certificate})`];
  if (door.certificate === 'none') {
    summary.push(
      '',
      'Warning: the SMTP door has no certificate, so it takes mail only without a login, from the networks in',
      "each institution's smtpSubmission.allowFrom. Set NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY for logins.",
    );
  }
  const from = institution ? institution.from.address : 'notices@library.example.org';
  const example = [
    'Or send one as an ILS does, by SMTP (swaks):',
    '',
    `  swaks --server ${host}:${door.submissionPort} ${door.certificate === 'none' ? '' : '--tls '}--auth-user ${institution?.id ?? '<institution id>'} --auth-password '${key}' \\`,
    `    --from ${from} --to patron@example.org --header 'Subject: Your hold is ready' \\`,
    `    --header 'X-Notice-Type: hold-pickup' --body 'Pick it up at the front desk by Friday.'`,
  ];
  return { summary, example };
};
