// The local API's HTTPS (docs/it/run-locally.md): the certificate and key NOTICE_RELAY_TLS_CERT and
// NOTICE_RELAY_TLS_KEY name, checked before anything starts, and the URL the banner shows for them.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Env } from '../../shared/deps';
import { errorCode } from '../../shared/errors';
import type { TlsIdentity } from './api-gateway';

/**
 * The API's certificate and key, from the PEM files NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY name:
 * both or neither, checked to belong together before anything starts.
 */
export const readTlsIdentity = (env: Env): TlsIdentity | undefined => {
  const certPath = env.NOTICE_RELAY_TLS_CERT || undefined;
  const keyPath = env.NOTICE_RELAY_TLS_KEY || undefined;
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) throw new Error('NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY go together: set both (PEM files) for HTTPS, or neither.');
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${name}: cannot read ${path} (${errorCode(error)})`, { cause: error });
    }
  };
  const identity = { cert: read('NOTICE_RELAY_TLS_CERT', certPath), key: read('NOTICE_RELAY_TLS_KEY', keyPath) };
  try {
    createSecureContext(identity);
  } catch (error) {
    throw new Error(`NOTICE_RELAY_TLS_CERT and NOTICE_RELAY_TLS_KEY are not a PEM certificate and its private key: ${(error as Error).message}`, { cause: error });
  }
  return identity;
};

/** The API's URL under a name its certificate covers, so that the banner's curl verifies it. */
export const urlCoveredBy = (url: string, cert: TlsIdentity['cert']): string => {
  const certificate = new X509Certificate(cert);
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) ? certificate.checkIP(host) : certificate.checkHost(host)) return url;
  const dnsName = certificate.subjectAltName
    ?.split(', ')
    .find((name) => name.startsWith('DNS:') && !name.includes('*'))
    ?.slice('DNS:'.length);
  if (!dnsName) return url;
  parsed.hostname = dnsName;
  return parsed.toString().replace(/\/$/, '');
};
