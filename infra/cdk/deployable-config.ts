// The configuration file as the AWS deployment takes it: secrets never sit in it (docs/it/configuration.md), and
// what the Lambda functions read is the validated result, its ${VARIABLES} expanded on the deploying machine.
import { ConfigError, type ErrorDetail } from '../../shared/errors';
import { expandVariables, parseConfig, readConfigJson } from '../../shared/config/load';
import { formatPath } from '../../shared/validation';
import type { Config } from '../../shared/config/schema';

/** Where a secret may not be on AWS, and where it goes instead. */
const SECRET_FIELDS: Record<string, string> = {
  apiKeys: 'list the SHA-256 digests in apiKeyHashes instead (printf %s "$KEY" | sha256sum)',
  consoleKeys: 'list the SHA-256 digests in consoleKeyHashes instead (printf %s "$KEY" | sha256sum)',
  pass: 'put it in the institution\'s secret in Secrets Manager ({"servers": [{"pass": "…"}]})',
  clientSecret: 'put it in the institution\'s secret in Secrets Manager ({"servers": [{"clientSecret": "…"}]})',
  refreshToken: 'put it in the institution\'s secret in Secrets Manager ({"servers": [{"refreshToken": "…"}]})',
  privateKey: 'put it in the institution\'s secret in Secrets Manager ({"dkimPrivateKey": "-----BEGIN…"})',
  secret: 'put it in the institution\'s secret in Secrets Manager ({"webhooks": [{"url": "<the webhook\'s url>", "secret": "…"}]})',
};

/** Every secret the file holds, by path. */
export const inlineSecrets = (value: unknown, path: PropertyKey[] = []): ErrorDetail[] => {
  if (Array.isArray(value)) return value.flatMap((item, index) => inlineSecrets(item, [...path, index]));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key in SECRET_FIELDS && item !== undefined ? [{ path: formatPath([...path, key]), message: `is a secret: ${SECRET_FIELDS[key]}` }] : inlineSecrets(item, [...path, key]),
  );
};

export interface DeployableConfig {
  config: Config;
  /** The JSON the functions load at run time: the validated configuration (shared/config/runtime.ts). */
  runtimeJson: string;
}

/** Loads a configuration for deployment, refusing it when it holds a secret. */
export const loadDeployableConfig = (path: string, env: Readonly<Record<string, string | undefined>>): DeployableConfig => {
  const raw = readConfigJson(path);
  const expanded = expandVariables(raw, env);
  const config = parseConfig(raw, env, path);
  const secrets = inlineSecrets(expanded);
  if (secrets.length) throw new ConfigError(`${path} holds secrets, which an AWS deployment keeps out of its configuration`, secrets);
  return { config, runtimeJson: JSON.stringify(config) };
};
