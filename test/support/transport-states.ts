// Institutions' transport states in memory, with the compare-and-set the DynamoDB store does: for unit
// tests of what is decided on them (rate limits, pauses, stalls).
import { applyChange, type TransportChange, type TransportState, type TransportStates } from '../../shared/transport/records';

export interface MemoryStates extends TransportStates {
  /** Writes that took effect. */
  writes: number;
  /** Sets an institution's state as a test needs it. */
  put(institutionId: string, state: Omit<TransportState, 'version'>): void;
}

/**
 * The states in memory. `interfere`, when given, is another writer that comes first once, between the
 * first read and the first write: the compare-and-set must then read again.
 */
export const memoryStates = (interfere?: (state: TransportState) => TransportChange): MemoryStates => {
  const held = new Map<string, TransportState>();
  let interfered = false;
  const states: MemoryStates = {
    writes: 0,
    read: async (institutionId) => held.get(institutionId) ?? { version: 0 },
    write: async (institutionId, expectVersion, change) => {
      let state = held.get(institutionId) ?? { version: 0 };
      if (interfere && !interfered) {
        interfered = true;
        state = applyChange(state, interfere(state));
        held.set(institutionId, state);
      }
      if (state.version !== expectVersion) return false;
      states.writes++;
      held.set(institutionId, applyChange(state, change));
      return true;
    },
    put: (institutionId, state) => held.set(institutionId, { ...state, version: (held.get(institutionId)?.version ?? 0) + 1 }),
  };
  return states;
};
