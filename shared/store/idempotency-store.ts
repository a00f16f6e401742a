// The Idempotency-Key's contract (docs/integrator/api.md): a request claims its key before it writes, and
// a repeat of it replays the first answer, waits for it, or takes over from a request that died. Kept
// apart from the notice store, as Powertools keeps its idempotency layer; implemented on DynamoDB by
// dynamo-idempotency-store.ts.
import type { NoticeId } from '../ids';

/** What an Idempotency-Key claim found. */
export type IdempotencyClaim =
  /** The key is new (or its earlier holder died): write these ids. */
  | { kind: 'proceed'; ids: NoticeId[]; takeover: boolean }
  /** The same request completed before: answer as then. */
  | { kind: 'replay'; ids: NoticeId[]; batch: boolean }
  /** The same request is being processed right now. */
  | { kind: 'in-progress' }
  /** The key was used with another body. */
  | { kind: 'mismatch' };

export interface IdempotencyRequest {
  institutionId: string;
  key: string;
  /** SHA-256 of the request's canonical JSON: the same body re-serialised hashes the same. */
  requestHash: string;
  /** The ids this request would give its notices, kept so that a takeover writes the same ones. */
  ids: NoticeId[];
  batch: boolean;
  now: Date;
}

export interface IdempotencyStore {
  /** Claims the key for a request, or says who holds it. */
  claim(request: IdempotencyRequest): Promise<IdempotencyClaim>;
  /** Marks the request done: later requests with the key replay it. */
  complete(request: IdempotencyRequest): Promise<void>;
  /** Lets a retry of a failed request take the key over at once. */
  release(request: IdempotencyRequest): Promise<void>;
}
