// How a suppression entry is kept as an item (`suppression#<institution>#<address>`): its key, whether it
// is still in force, and how a read item becomes the entry, shared by the suppression store
// (dynamo-suppression-store.ts) and the sender's batched lookup (dynamo-batch-lookups.ts).
import type { SuppressionEntry } from './suppression-store';

export const suppressionPartition = (institutionId: string, address: string): string => `suppression#${institutionId}#${address}`;

/** In force until its `expiresAt`; the item may outlive it until TTL deletes it, so reads check. */
export const suppressionInForce = (item: Record<string, unknown>, now: Date): boolean => typeof item.expiresAt !== 'string' || new Date(item.expiresAt) > now;

export const suppressionEntryOf = (item: Record<string, unknown>): SuppressionEntry => {
  const { institutionId, address, reason, detail, noticeId, createdAt, expiresAt } = item as unknown as SuppressionEntry;
  return Object.fromEntries(Object.entries({ institutionId, address, reason, detail, noticeId, createdAt, expiresAt }).filter(([, v]) => v !== undefined)) as unknown as SuppressionEntry;
};
