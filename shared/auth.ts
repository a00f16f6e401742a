// API keys (docs/integrator/api.md): each belongs to one institution; only digests are compared, in constant time.
import { timingSafeEqual } from 'node:crypto';
import { hashApiKey } from './config/key-digest';
import type { InstitutionConfig } from './config/schema';
import { UnauthorizedError } from './errors';

/** Finds the institution an API key belongs to. */
export class KeyRing {
  private readonly entries: Array<{ digest: Buffer; institution: InstitutionConfig }>;

  public constructor(institutions: readonly InstitutionConfig[]) {
    this.entries = institutions.flatMap((institution) =>
      [...(institution.apiKeys ?? []).map(hashApiKey), ...(institution.apiKeyHashes ?? [])].map((hex) => ({ digest: Buffer.from(hex, 'hex'), institution })),
    );
  }

  /**
   * The institution whose key this is, and the key's digest in hex (what may name the key in the store).
   * Every stored digest is compared, match or not, so the time taken says nothing about the key.
   * @throws UnauthorizedError when the key is missing or unknown.
   */
  public authenticate(presented: string | undefined): { institution: InstitutionConfig; keyId: string } {
    if (!presented) throw new UnauthorizedError();
    const keyId = hashApiKey(presented);
    const digest = Buffer.from(keyId, 'hex');
    let found: InstitutionConfig | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.institution;
    }
    if (!found) throw new UnauthorizedError('The API key is not valid.');
    return { institution: found, keyId };
  }
}
