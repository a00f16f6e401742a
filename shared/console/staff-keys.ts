// The console's staff keys (docs/staff/console.md): one or more per institution, separate from the
// ILS's API keys so that those never sit in a browser. Only digests are compared, in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hashApiKey } from '../config/key-digest';
import type { InstitutionConfig } from '../config/schema';

/** Checks a staff key against the institution it is given for. */
export class StaffKeys {
  private readonly digests: Map<string, { institution: InstitutionConfig; digests: Buffer[] }>;

  public constructor(institutions: readonly InstitutionConfig[]) {
    this.digests = new Map(
      institutions.map((institution) => [
        institution.id,
        { institution, digests: [...(institution.consoleKeys ?? []).map(hashApiKey), ...(institution.consoleKeyHashes ?? [])].map((hex) => Buffer.from(hex, 'hex')) },
      ]),
    );
  }

  /** Whether any institution has a staff key: without one the console cannot be signed in to. */
  public get anyConfigured(): boolean {
    return [...this.digests.values()].some((entry) => entry.digests.length > 0);
  }

  /** Whether `institutionId` names an institution (a typed value that does not is never logged or stored). */
  public knows(institutionId: string): boolean {
    return this.digests.has(institutionId);
  }

  /**
   * The institution, when `key` is one of its staff keys. An unknown institution costs the same
   * comparison as a known one, so the time taken tells nothing about which ids exist.
   */
  public authenticate(institutionId: string, key: string): InstitutionConfig | undefined {
    const entry = this.digests.get(institutionId);
    const presented = createHash('sha256').update(key, 'utf8').digest();
    const candidates = entry?.digests.length ? entry.digests : [Buffer.alloc(32)];
    let matched = false;
    for (const digest of candidates) matched = timingSafeEqual(digest, presented) || matched;
    return matched && entry ? entry.institution : undefined;
  }
}
