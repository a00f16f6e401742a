// Whether a private key can sign DKIM here: checked when the configuration is read and again before a
// transport signs with a key from a secret. Knows nothing of the configuration's shape.
import { createPrivateKey } from 'node:crypto';

/**
 * What keeps a PEM from signing DKIM here, or undefined when it can. Nodemailer signs with RSA keys only,
 * and a key it cannot use it skips without a word, sending the message unsigned.
 */
export const dkimKeyProblem = (privateKeyPem: string): string | undefined => {
  try {
    const key = createPrivateKey(privateKeyPem);
    return key.asymmetricKeyType === 'rsa' ? undefined : `is an ${key.asymmetricKeyType} key; DKIM signing takes an RSA key (2048 bits)`;
  } catch {
    return 'cannot be read as a private key (cut short, or its line breaks written as the two characters \\n)';
  }
};
