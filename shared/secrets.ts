// Secrets that never sit in the configuration file on AWS (docs/it/configuration.md): SMTP passwords, OAuth2
// client secrets and refresh tokens, DKIM private keys, webhook signing secrets. One secret per institution,
// a JSON document:
//   {"servers": [{"pass": "…"}, {"clientSecret": "…", "refreshToken": "…"}], "dkimPrivateKey": "-----BEGIN…",
//    "webhooks": [{"url": "https://…", "secret": "…"}]}
// `servers` are in the order of the configuration's list (a primary and its backup, which do not move);
// each webhook's secret names its receiver's URL, so removing or reordering receivers never signs one
// receiver's events with another's secret. A value in the file wins over the secret.
import type { InstitutionConfig, WebhookConfig } from './config/schema';

export interface ServerSecrets {
  pass?: string;
  clientSecret?: string;
  refreshToken?: string;
}

export interface InstitutionSecrets {
  servers?: Array<ServerSecrets | null>;
  dkimPrivateKey?: string;
  /**
   * The signing secret of each webhook, by its receiver's `url` as the configuration writes it. An entry
   * without a url is of the older form, which went by position (see webhookSecretFor).
   */
  webhooks?: Array<{ url?: string; secret?: string } | null>;
}

/**
 * The secret an institution needs, with every field empty, in the shape the sender reads: what IT fills
 * in (`notice-relay secret-template`). None for an institution without a login, OAuth2 or DKIM.
 */
export const secretTemplate = (institution: InstitutionConfig): InstitutionSecrets | undefined => {
  const transport = institution.transport;
  const servers =
    transport.kind === 'smtp'
      ? transport.servers.map((server) =>
          // Microsoft 365's application access has no refresh token: the field is then left empty.
          !server.auth ? null : 'type' in server.auth ? { clientSecret: '', refreshToken: '' } : { pass: '' },
        )
      : [];
  const needsServers = servers.some(Boolean);
  const dkim = transport.kind === 'smtp' && transport.dkim !== undefined;
  // Each webhook's signing secret: IT makes one (openssl rand -hex 32) and gives it to the ILS's receiver too.
  const webhooks = institution.webhooks.map((hook) => ({ url: hook.url, secret: '' }));
  if (!needsServers && !dkim && webhooks.length === 0) return undefined;
  return { ...(needsServers ? { servers } : {}), ...(dkim ? { dkimPrivateKey: '' } : {}), ...(webhooks.length ? { webhooks } : {}) };
};

/** The secret that signs a receiver's events, or why there is none to use. */
export type WebhookSecret = { secret: string } | { missing: 'no-secret' | 'secret-by-position' };

/**
 * The secret that signs `hook`'s events: the configuration's own (`npm start`), else the entry of the
 * institution's secret whose `url` is the receiver's. An entry without a url (the older form, which went
 * by position) is used only where it cannot be anyone else's: the institution has one receiver and the
 * secret one entry. With more, a receiver removed or moved would sign with another's secret, so they are
 * refused (`secret-by-position`) until each entry names its url.
 * @example
 * webhookSecretFor(institution, hook, await secrets.forInstitution(institution.id))
 */
export const webhookSecretFor = (institution: Pick<InstitutionConfig, 'webhooks'>, hook: Pick<WebhookConfig, 'url' | 'secret'>, secrets: InstitutionSecrets): WebhookSecret => {
  if (hook.secret) return { secret: hook.secret };
  const entries = (secrets.webhooks ?? []).filter((entry): entry is { url?: string; secret?: string } => entry !== null);
  const named = entries.find((entry) => entry.url === hook.url);
  if (named) return named.secret ? { secret: named.secret } : { missing: 'no-secret' };
  const unnamed = entries.filter((entry) => entry.url === undefined && entry.secret);
  if (unnamed.length === 0) return { missing: 'no-secret' };
  const only = unnamed[0] as { secret: string };
  return institution.webhooks.length === 1 && entries.length === 1 ? { secret: only.secret } : { missing: 'secret-by-position' };
};

export interface SecretSource {
  forInstitution(institutionId: string): Promise<InstitutionSecrets>;
}

/** For `npm start` and tests: every secret is in the configuration file. */
export const noSecrets: SecretSource = { forInstitution: async () => ({}) };

const REDACTED = '[redacted]';

/**
 * The forms in which a server could echo a credential back: the value itself, URL-encoded as in a token
 * request's form, and the base64 of the value and of the AUTH PLAIN and XOAUTH2 payloads (RFC 4616,
 * Google's XOAUTH2) made with it.
 */
export const credentialForms = (secret: string, user?: string): string[] => {
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ v: secret }).toString().slice('v='.length),
    base64(secret),
    ...(user !== undefined ? [base64(`\u0000${user}\u0000${secret}`), base64(`user=${user}\u0001auth=Bearer ${secret}\u0001\u0001`)] : []),
  ];
};

/**
 * `text` with every secret in it replaced by "[redacted]": a server's or a token endpoint's words may
 * quote what they were sent, and they are shown to API clients and kept in the store.
 */
export const redactSecrets = (text: string, secrets: Iterable<string | undefined>): string => {
  let redacted = text;
  // Longest first, so that a secret containing a shorter one goes whole. Values under four characters
  // would blank out ordinary words, and are no secret anyway.
  const values = [...new Set([...secrets].filter((value): value is string => typeof value === 'string' && value.length >= 4))].sort((a, b) => b.length - a.length);
  for (const value of values) redacted = redacted.split(value).join(REDACTED);
  return redacted;
};
