// The certificate `npm start` makes for its SMTP door when it was given none, for this machine alone: a
// self-signed one for 127.0.0.1, ::1 and localhost, new at every start. Keys come from Node's crypto;
// node-forge writes the X.509 certificate, which Node cannot.
import forge from 'node-forge';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { TlsIdentity } from '../../shared/submission/certificate';

const VALID_DAYS = 30;

/** A self-signed certificate for this machine: STARTTLS and port 465 work, and nothing else trusts it. */
export const makeLoopbackCertificate = (now: Date = new Date()): TlsIdentity => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // RFC 5280 §4.1.2.2: a positive serial number, unique for the issuer; random, as nothing keeps count.
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + VALID_DAYS * 86_400_000);
  const name = [{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'Notice Relay (npm start)' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
};
