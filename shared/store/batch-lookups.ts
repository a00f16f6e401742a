// The sender's reads besides its notices, in one round: each institution's transport state and the
// suppression entries in force for the batch's addresses. On DynamoDB (dynamo-batch-lookups.ts) both are
// items of the one table, so they come in one BatchGetItem instead of a GetItem and a BatchGetItem per
// institution of every invocation.
import type { TransportState } from '../transport/records';
import type { SuppressionEntry } from './suppression-store';

export interface BatchLookupRequest {
  institutionIds: string[];
  /** Addresses already in the list's form (shared/suppression/address.ts). */
  addresses: Array<{ institutionId: string; address: string }>;
  now: Date;
}

export interface BatchLookupResult {
  /** By institution id; version 0 for an institution nothing is kept for yet. */
  transportStates: Map<string, TransportState>;
  /** The entries in force, by `suppressionLookupKey(institutionId, address)`. */
  suppressions: Map<string, SuppressionEntry>;
}

export interface BatchLookups {
  lookup(request: BatchLookupRequest): Promise<BatchLookupResult>;
}

export const suppressionLookupKey = (institutionId: string, address: string): string => `${institutionId}\n${address}`;
