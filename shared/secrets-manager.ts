// SecretSource on AWS Secrets Manager: one JSON secret per institution (shape in secrets.ts), read on
// first use and kept for a few minutes, so a changed password takes effect without a deployment.
import { GetSecretValueCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from './clock';
import { ConfigError } from './errors';
import type { InstitutionSecrets, SecretSource } from './secrets';

export interface SecretsManagerSourceOptions {
  client: SecretsManagerClient;
  /** Secret ARN (or name) by institution id, as the stack created them. */
  secretIds: Readonly<Record<string, string>>;
  clock: Clock;
  /** How long a secret is kept before it is read again. */
  cacheSeconds?: number;
}

export class SecretsManagerSource implements SecretSource {
  private readonly cache = new Map<string, { value: InstitutionSecrets; until: number }>();

  public constructor(private readonly options: SecretsManagerSourceOptions) {}

  public async forInstitution(institutionId: string): Promise<InstitutionSecrets> {
    const now = this.options.clock.now().getTime();
    const cached = this.cache.get(institutionId);
    if (cached && cached.until > now) return cached.value;
    const secretId = this.options.secretIds[institutionId];
    let value: InstitutionSecrets = {};
    if (secretId) {
      try {
        const output = await this.options.client.send(new GetSecretValueCommand({ SecretId: secretId }));
        value = parseSecret(output.SecretString);
      } catch (error) {
        // A secret nobody filled in yet is an empty one; anything else is worth a retry.
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }
    this.cache.set(institutionId, { value, until: now + (this.options.cacheSeconds ?? 300) * 1000 });
    return value;
  }
}

/** The secret's JSON, keeping only the fields this service uses. */
export const parseSecret = (text: string | undefined): InstitutionSecrets => {
  if (!text) return {};
  let parsed: InstitutionSecrets;
  try {
    parsed = JSON.parse(text) as InstitutionSecrets;
  } catch {
    throw new ConfigError('the secret is not valid JSON: it must look like {"servers": [{"pass": "…"}], "dkimPrivateKey": "…"}');
  }
  return {
    servers: Array.isArray(parsed.servers) ? parsed.servers.map((s) => (s && typeof s === 'object' ? { pass: str(s.pass), clientSecret: str(s.clientSecret), refreshToken: str(s.refreshToken) } : null)) : undefined,
    dkimPrivateKey: str(parsed.dkimPrivateKey),
    webhooks: Array.isArray(parsed.webhooks) ? parsed.webhooks.map((w) => (w && typeof w === 'object' ? { url: str(w.url), secret: str(w.secret) } : null)) : undefined,
  };
};

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
