// The suppression list's contract (docs/integrator/api.md: Suppressions and webhook deliveries): per institution, the addresses not to mail,
// each with why, since when and until when. Implemented on DynamoDB by dynamo-suppression-store.ts. Every
// address given to it is already in the list's form (shared/suppression/address.ts: suppressionKey).
import type { NoticeId } from '../ids';

/** Why an address is on the list. */
export type SuppressionReason = 'bounce' | 'complaint' | 'manual';

export interface SuppressionEntry {
  institutionId: string;
  /** In lower case (shared/suppression/address.ts). */
  address: string;
  reason: SuppressionReason;
  /** What caused it, in a few words: the server's reply, SES's bounce type, or the caller's note. */
  detail?: string;
  /** The notice whose bounce or complaint added it. */
  noticeId?: NoticeId;
  createdAt: string;
  /** When the entry lapses; absent when `suppression.days` is 0 (kept until deleted). */
  expiresAt?: string;
}

export interface SuppressionPage {
  suppressions: SuppressionEntry[];
  cursor?: string;
}

export interface SuppressionStore {
  /** Adds the address, or renews its entry (a new bounce restarts its time). */
  add(entry: SuppressionEntry): Promise<void>;
  /** Removes the address; false when it was not on the list. */
  remove(institutionId: string, address: string): Promise<boolean>;
  /** The institution's entries in force, newest first, paged like the notices. */
  list(institutionId: string, query: { limit: number; cursor?: string; now: Date }): Promise<SuppressionPage>;
}
