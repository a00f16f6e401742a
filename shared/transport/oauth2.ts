// OAuth2 access tokens for SMTP (XOAUTH2) with Google Workspace and Microsoft 365, whose basic-auth SMTP
// is being switched off. A token is fetched once and kept until shortly before it expires, for every
// message and batch of the process; concurrent needs share one request to the token endpoint.
import type { Clock } from '../clock';
import { deliveryFailure } from './classify';
import { credentialForms, redactSecrets } from '../secrets';

export interface OAuth2Settings {
  provider: 'google' | 'microsoft' | 'custom';
  user: string;
  clientId: string;
  clientSecret?: string;
  refreshToken?: string;
  tenantId?: string;
  accessUrl?: string;
  scope?: string;
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export interface OAuth2TokensOptions {
  fetch: FetchLike;
  clock: Clock;
  /** A token is renewed this long before it expires, so none expires in the middle of a send. */
  renewBeforeSeconds?: number;
  /** The token endpoint's own deadline. */
  timeoutSeconds?: number;
}

/** Microsoft 365's scope for SMTP: delegated (with a refresh token), or application (client credentials). */
const MICROSOFT_DELEGATED_SCOPE = 'https://outlook.office.com/SMTP.Send offline_access';
const MICROSOFT_APPLICATION_SCOPE = 'https://outlook.office365.com/.default';

/** The token endpoint: Google's, the tenant's at Microsoft, or `accessUrl` when configured. */
export const tokenEndpoint = (settings: OAuth2Settings): string => {
  if (settings.accessUrl) return settings.accessUrl;
  if (settings.provider === 'microsoft') return `https://login.microsoftonline.com/${encodeURIComponent(settings.tenantId ?? 'organizations')}/oauth2/v2.0/token`;
  if (settings.provider === 'google') return 'https://oauth2.googleapis.com/token';
  throw new Error('an OAuth2 server of provider "custom" needs an accessUrl');
};

/** Every form in which the client secret and refresh token could be quoted back, to be redacted. */
export const oauth2SecretForms = (settings: Pick<OAuth2Settings, 'clientSecret' | 'refreshToken'>): string[] =>
  [settings.clientSecret, settings.refreshToken].flatMap((secret) => (secret ? credentialForms(secret) : []));

/** The form posted to the token endpoint (RFC 6749 §6 refresh, §4.4 client credentials). */
export const tokenRequest = (settings: OAuth2Settings): URLSearchParams => {
  const form = new URLSearchParams({ client_id: settings.clientId });
  if (settings.clientSecret) form.set('client_secret', settings.clientSecret);
  if (settings.refreshToken) {
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', settings.refreshToken);
    if (settings.scope ?? (settings.provider === 'microsoft' ? MICROSOFT_DELEGATED_SCOPE : undefined)) form.set('scope', settings.scope ?? MICROSOFT_DELEGATED_SCOPE);
  } else {
    form.set('grant_type', 'client_credentials');
    form.set('scope', settings.scope ?? MICROSOFT_APPLICATION_SCOPE);
  }
  return form;
};

interface Cached {
  accessToken: string;
  expiresAt: number;
  /** Microsoft may rotate the refresh token; the newest one is used from then on, in this process. */
  refreshToken?: string;
  /** The configured refresh token the one above descends from. */
  configuredRefreshToken?: string;
}

export class OAuth2Tokens {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<Cached>>();

  public constructor(private readonly options: OAuth2TokensOptions) {}

  /**
   * An access token for `key` (one per institution and server), fetched only when none is held or it
   * is about to expire.
   * @throws DeliveryError (EOAUTH2, of the institution's setup) naming `server` when the grant is refused.
   */
  public async accessToken(key: string, server: string, settings: OAuth2Settings): Promise<string> {
    const now = this.options.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - (this.options.renewBeforeSeconds ?? 60) * 1000 > now) return cached.accessToken;
    let pending = this.inFlight.get(key);
    if (!pending) {
      // A rotated refresh token stands in for the configured one it came from only: one IT put in the
      // secret since (the old one revoked), or none (client credentials instead), is used as it is.
      const rotated = cached && cached.configuredRefreshToken === settings.refreshToken ? cached.refreshToken : undefined;
      pending = this.fetchToken(server, { ...settings, refreshToken: rotated ?? settings.refreshToken })
        .then((fresh) => ({ ...fresh, configuredRefreshToken: settings.refreshToken }))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const fresh = await pending;
    this.cache.set(key, fresh);
    return fresh.accessToken;
  }

  /** Forgets the token of `key`: the relay refused it, so the next send fetches a new one. */
  public invalidate(key: string): void {
    const cached = this.cache.get(key);
    if (cached) this.cache.set(key, { ...cached, accessToken: '', expiresAt: 0 });
  }

  private async fetchToken(server: string, settings: OAuth2Settings): Promise<Cached> {
    const refused = (message: string, cause?: unknown) =>
      deliveryFailure('EOAUTH2', `OAuth2 for ${server}: ${message}`, { transport: 'smtp', server }, cause);
    let endpoint: string;
    try {
      endpoint = tokenEndpoint(settings);
    } catch (error) {
      throw refused((error as Error).message, error);
    }
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await this.options.fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: tokenRequest(settings).toString(),
        signal: AbortSignal.timeout((this.options.timeoutSeconds ?? 10) * 1000),
      });
    } catch (error) {
      throw refused(`the token endpoint ${new URL(endpoint).host} did not answer`, error);
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown; error?: unknown; error_description?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      // RFC 6749 §5.2: `error` names why (invalid_grant: the refresh token was revoked or expired).
      // An endpoint may quote the request it refused; its words reach the transport's status and the Test
      // Server. Secrets go before anything is shortened, so that none is cut into an unrecognisable part.
      const secrets = oauth2SecretForms(settings);
      const said = (value: unknown, max: number) => (typeof value === 'string' ? redactSecrets(value, secrets).split('\n')[0]?.slice(0, max) : undefined);
      const description = said(body.error_description, 200);
      throw refused(`the token endpoint refused the grant (HTTP ${response.status}, ${said(body.error, 100) ?? 'no error code'}${description ? `: ${description}` : ''})`);
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    return {
      accessToken: body.access_token,
      expiresAt: this.options.clock.now().getTime() + expiresIn * 1000,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : settings.refreshToken,
    };
  }
}
