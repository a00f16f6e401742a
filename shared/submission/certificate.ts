// The SMTP door's TLS certificate on AWS: a Secrets Manager secret IT fills (docs/it/deploy.md,
// step 6), read at start and every few minutes after, so a renewed certificate needs no deploy.
import { createSecureContext } from 'node:tls';

/** A certificate (PEM, intermediates after it) and its private key (PEM). */
export interface TlsIdentity {
  cert: string | Buffer;
  key: string | Buffer;
}

/** The ERROR line the door logs while it has no usable certificate (the stack's alarm sees every ERROR). */
export const NO_CERTIFICATE_LOG = 'smtp door has no usable TLS certificate';

/** The fields of the secret, as docs/it/deploy.md documents them. */
export const TLS_SECRET_FIELDS = { certificate: 'certificate', privateKey: 'privateKey' } as const;

/**
 * The identity a secret holds: undefined while the secret is still `{}` (the stack creates it empty).
 * @throws Error naming what is wrong with a secret that is filled but unusable; never its contents.
 * @example
 * const identity = tlsIdentityOfSecret(secretString); // { cert, key } or undefined
 */
export const tlsIdentityOfSecret = (secretString: string | undefined): TlsIdentity | undefined => {
  if (!secretString || secretString.trim() === '' || secretString.trim() === '{}') return undefined;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(secretString) as Record<string, unknown>;
  } catch {
    throw new Error('the TLS secret is not JSON: it holds {"certificate": "-----BEGIN CERTIFICATE-----…", "privateKey": "-----BEGIN PRIVATE KEY-----…"}');
  }
  const cert = fields[TLS_SECRET_FIELDS.certificate];
  const key = fields[TLS_SECRET_FIELDS.privateKey];
  if (typeof cert !== 'string' || typeof key !== 'string' || cert === '' || key === '') {
    throw new Error('the TLS secret needs both "certificate" and "privateKey", each a PEM text');
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    // The reason is OpenSSL's (a key that does not match, a PEM cut short), never the PEM itself.
    throw new Error(`the TLS secret's certificate and private key cannot be used together: ${(error as Error).message}`, { cause: error });
  }
  return { cert, key };
};
