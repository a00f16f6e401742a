// A private certificate authority for tests, as campus relays use: a CA certificate, and server
// certificates it signs for 127.0.0.1 and localhost. Keys come from Node's crypto; node-forge writes
// the X.509 certificates, which Node cannot.
import forge from 'node-forge';
import { generateKeyPairSync } from 'node:crypto';

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface PrivateCa {
  /** The CA certificate (PEM): what the `ca` of a server's configuration trusts. */
  cert: string;
  /** A server certificate, for 127.0.0.1 and localhost unless other DNS names are given, signed by this CA. */
  issueServerCertificate(dnsNames?: string[]): IssuedCertificate;
}

const rsaKeys = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return { keyPem, privateKey: forge.pki.privateKeyFromPem(keyPem), publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) };
};

const validForADay = (cert: forge.pki.Certificate) => {
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
};

export const makePrivateCa = (name = 'Notice Relay Test CA'): PrivateCa => {
  const caKeys = rsaKeys();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = caKeys.publicKey;
  caCert.serialNumber = '01';
  validForADay(caCert);
  const caName = [{ name: 'commonName', value: name }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  caCert.sign(caKeys.privateKey, forge.md.sha256.create());
  let serial = 2;
  return {
    cert: forge.pki.certificateToPem(caCert),
    issueServerCertificate: (dnsNames) => {
      const keys = rsaKeys();
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = String(serial++).padStart(2, '0');
      validForADay(cert);
      cert.setSubject([{ name: 'commonName', value: dnsNames?.[0] ?? 'localhost' }]);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: dnsNames ? dnsNames.map((value) => ({ type: 2, value })) : [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ]);
      cert.sign(caKeys.privateKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(cert), key: keys.keyPem };
    },
  };
};
