// How an institution's transport state is kept as an item (`transport#<id>`): its key and how a read item
// becomes the state, shared by the store that reads and writes it one at a time (dynamo-transport-state.ts)
// and the sender's batched lookup (dynamo-batch-lookups.ts), so the two cannot read it differently.
import type { TransportState } from '../transport/records';
import { PARTITION_KEY } from './table';

/** The attributes of the item that are the state; anything else on it (older fields) is left alone. */
export const TRANSPORT_STATE_FIELDS = [
  'nextSlotAt',
  'recentSends',
  'day',
  'dayCount',
  'pause',
  'probe',
  'refusals',
  'firstUnsentAt',
  'firstUnsentBy',
  'stall',
  'resumed',
  'lastTestedAt',
  'lastTestResult',
  'lastAuthFailure',
  'authRecoveredAt',
] as const satisfies ReadonlyArray<keyof TransportState>;

export const transportStatePartition = (institutionId: string): string => `transport#${institutionId}`;

export const transportStateKey = (institutionId: string): Record<string, string> => ({ [PARTITION_KEY]: transportStatePartition(institutionId) });

/** The state an item holds; version 0 and nothing else when no item is kept yet. */
export const transportStateOf = (item: Record<string, unknown> | undefined): TransportState => {
  const found = item ?? {};
  const state: Record<string, unknown> = { version: typeof found.version === 'number' ? found.version : 0 };
  for (const field of TRANSPORT_STATE_FIELDS) if (found[field] !== undefined) state[field] = found[field];
  return state as unknown as TransportState;
};
