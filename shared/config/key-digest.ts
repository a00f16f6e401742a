// The digest an API key is known by (docs/it/deploy.md, `apiKeyHashes`): the configuration checks
// keys for repeats by it and the key ring compares by it, so neither needs the other.
import { createHash } from 'node:crypto';

/** The SHA-256 digest of an API key, in hex: what an AWS deployment stores instead of the key. */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');
