// POST /v1/notices: validate → (Idempotency-Key) → store → doorbells. The store is written first and
// the answer is given only once it holds every notice, so a 202 never lies; a doorbell that cannot be
// rung is rung later by the sweep.
import { createHash } from 'node:crypto';
import type { InstitutionConfig } from '../config/schema';
import { ConflictError, errorCode, UnavailableError, ValidationError } from '../errors';
import type { CoreDeps } from '../core-deps';
import type { NoticeId } from '../ids';
import type { Doorbell } from '../lifecycle/plan';
import { newNotice } from '../lifecycle/transitions';
import type { NewNotice } from '../notice/model';
import { validateSubmission } from '../notice/validate';
import type { IdempotencyClaim, IdempotencyRequest, IdempotencyStore } from '../store/idempotency-store';

export interface IntakeDeps extends CoreDeps {
  idempotency: IdempotencyStore;
  sleep: (ms: number) => Promise<void>;
}

export interface Accepted {
  batch: boolean;
  notices: Array<{ id: NoticeId; status: 'queued' }>;
  /** The answer repeats that of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
  /** Those of the notices an earlier request had already accepted: all when `replayed`, some with a key per notice. */
  alreadyAccepted: NoticeId[];
}

export interface AcceptOptions {
  /**
   * On a failed write, remove what this request wrote even when it has an Idempotency-Key, as a request
   * without one does: the SMTP door answers one reply for a whole message, and its 451 must mean that
   * none of the message's notices will be sent. A retry with the key writes them all again, same ids.
   */
  wholeOrNothing?: boolean;
}

/**
 * A request's Idempotency-Key, or one key per notice in the order of the body's notices (the SMTP door's
 * Message-ID plus recipient): each notice is then created or found by its own key, so a request that
 * repeats some of an earlier one's notices creates only the others.
 */
export type IdempotencyKeys = string | readonly string[];

/**
 * How long after claiming its key a request may still remove what it wrote: well inside the store's
 * Idempotency-Key lease (60 s), so no retry can have taken the key over and answered for those notices.
 */
const UNDO_WITHIN_MS = 30_000;

/** How long a duplicate request waits for the original to finish before answering 409. */
const IN_PROGRESS_WAIT_MS = 10_000;
const IN_PROGRESS_POLL_MS = 200;
/** The Retry-After of a 503 when the store failed: long enough for a throttled table to recover. */
const RETRY_AFTER_SECONDS = 5;

/** JSON with object keys sorted, so that the same body re-serialised hashes the same. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
};

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const hashOf = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('hex');

/** A key and the notices it answers for (by their index in the body): all of them, or one. */
interface KeyedPart {
  request: IdempotencyRequest;
  indexes: number[];
}

type Claimed = KeyedPart & { claim: Extract<IdempotencyClaim, { kind: 'proceed' | 'replay' }> };

/** The parts a request's keys make, each hashed over what it answers for: the body, or its own notice. */
const partsOf = (institution: InstitutionConfig, body: unknown, batch: boolean, ids: NoticeId[], keys: IdempotencyKeys | undefined, now: Date): KeyedPart[] => {
  if (keys === undefined) return [];
  const request = (key: string, requestHash: string, partIds: NoticeId[]): IdempotencyRequest => {
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new ValidationError('The Idempotency-Key header must be 1–255 visible ASCII characters.', [{ path: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' }], 'invalid_idempotency_key');
    }
    return { institutionId: institution.id, key, requestHash, ids: partIds, batch, now };
  };
  if (typeof keys === 'string') return [{ request: request(keys, hashOf(body), [...ids]), indexes: ids.map((_, index) => index) }];
  if (keys.length !== ids.length || new Set(keys).size !== keys.length) throw new Error('A key per notice needs as many different keys as there are notices.');
  const items: unknown[] = batch ? (body as { notices: unknown[] }).notices : [body];
  return keys.map((key, index) => ({ request: request(key, hashOf(items[index]), [ids[index] as NoticeId]), indexes: [index] }));
};

/**
 * Claims each key, waiting for one that another request holds until `deadline`. On any failure the keys
 * already claimed are let go at once, for a retry to take over.
 * @throws ConflictError idempotency_key_reused or idempotency_in_progress; the store's error.
 */
const claimAll = async (deps: IntakeDeps, parts: KeyedPart[], deadline: number): Promise<Claimed[]> => {
  const claimed: Claimed[] = [];
  // In the order of their keys: two requests that share some keys never each hold one the other waits for.
  const ordered = [...parts].sort((a, b) => (a.request.key < b.request.key ? -1 : a.request.key > b.request.key ? 1 : 0));
  try {
    for (const part of ordered) {
      for (;;) {
        const claim = await deps.idempotency.claim({ ...part.request, now: deps.clock.now() });
        if (claim.kind === 'replay' || claim.kind === 'proceed') {
          claimed.push({ ...part, claim });
          break;
        }
        if (claim.kind === 'mismatch') {
          throw new ConflictError('This Idempotency-Key was already used with a different request body.', 'idempotency_key_reused');
        }
        if (deps.clock.now().getTime() >= deadline) {
          throw new ConflictError('A request with this Idempotency-Key is still being processed; retry shortly.', 'idempotency_in_progress');
        }
        await deps.sleep(IN_PROGRESS_POLL_MS);
      }
    }
  } catch (error) {
    await releaseAll(deps, claimed);
    throw error;
  }
  return claimed;
};

/** Lets go of the keys this request holds (not those it only replayed). */
const releaseAll = async (deps: IntakeDeps, claimed: Claimed[]): Promise<void> => {
  await Promise.all(claimed.filter((part) => part.claim.kind === 'proceed').map((part) => deps.idempotency.release(part.request).catch(() => undefined)));
};

const accepted = (ids: NoticeId[], batch: boolean, alreadyAccepted: NoticeId[]): Accepted => ({
  batch,
  replayed: ids.length > 0 && alreadyAccepted.length === ids.length,
  alreadyAccepted,
  notices: ids.map((id) => ({ id, status: 'queued' })),
});

/**
 * Accepts one notice or a batch for an institution.
 * Primary course: 1. validate the whole submission; 2. claim the Idempotency-Key (or each notice's), if
 * any; 3. write every notice no earlier request wrote; 4. ring their doorbells; 5. mark the keys complete.
 * @example
 * const result = await acceptNotices(deps, institution, JSON.parse(body), headers['idempotency-key']);
 */
export const acceptNotices = async (deps: IntakeDeps, institution: InstitutionConfig, body: unknown, idempotencyKeys?: IdempotencyKeys, options: AcceptOptions = {}): Promise<Accepted> => {
  const now = deps.clock.now();
  const { notices, batch } = validateSubmission(body, now);
  const ids = notices.map(() => deps.newId());
  const parts = partsOf(institution, body, batch, ids, idempotencyKeys, now);
  const claimed = await claimAll(deps, parts, now.getTime() + IN_PROGRESS_WAIT_MS);

  // Each key's ids: those an earlier request chose (a replay, or a takeover of one that died) win.
  const replayed = new Set<number>();
  for (const part of claimed) {
    part.indexes.forEach((index, position) => {
      ids[index] = part.claim.ids[position] as NoticeId;
      if (part.claim.kind === 'replay') replayed.add(index);
    });
  }
  const proceeding = claimed.filter((part) => part.claim.kind === 'proceed');
  if (claimed.length > 0 && proceeding.length === 0) {
    // The batch flag of a whole request's key is the first request's, so the answer repeats it exactly.
    const first = claimed[0]?.claim;
    return accepted(ids, claimed.length === 1 && first?.kind === 'replay' ? first.batch : batch, ids);
  }

  const built = notices.flatMap((input, index) =>
    replayed.has(index) ? [] : [newNotice(input, { id: ids[index] as NoticeId, institutionId: institution.id, now, random: deps.random, settings: deps.settings })],
  );
  let toWrite: NewNotice[] = built.map((b) => b.record);
  const takenOver = proceeding.filter((part) => part.claim.kind === 'proceed' && part.claim.takeover).flatMap((part) => part.indexes.map((index) => ids[index] as NoticeId));
  if (takenOver.length > 0) {
    // An earlier request with these keys died part-way: write only what it did not.
    const existing = await deps.store.existingIds(takenOver);
    toWrite = toWrite.filter((record) => !existing.has(record.notice.id));
  }

  try {
    await deps.store.createNotices(toWrite);
  } catch (error) {
    deps.log.error('notices not stored', { institution: institution.id, count: toWrite.length, code: errorCode(error) });
    // Without a key a retry makes new ids: what was written must go, or it would be sent twice. With one,
    // the retry takes over and writes what is missing under the same ids, so what was written may stay,
    // unless the caller promised that nothing of a refused request is ever sent.
    const keyed = parts.length > 0;
    const inTime = deps.clock.now().getTime() - now.getTime() < UNDO_WITHIN_MS;
    const undo = !keyed || (options.wholeOrNothing === true && inTime);
    if (options.wholeOrNothing && keyed && !inTime) {
      // Too late to be sure no retry took the key over: what was written stays, for that retry to complete.
      deps.log.warn('notices of a refused request left for its retry to complete', { institution: institution.id, ids: toWrite.map((record) => record.notice.id) });
    }
    let undone = true;
    if (undo) {
      const written = toWrite.map((record) => record.notice.id);
      try {
        await deps.store.deleteNotices(written);
      } catch (deleteError) {
        // Then some may stay stored and be sent: say so, to the client and to IT, with the ids to cancel.
        deps.log.error('notices of a refused request may be left stored and sent', { institution: institution.id, ids: written, code: errorCode(deleteError) });
        undone = false;
      }
    }
    await releaseAll(deps, claimed);
    if (!undone && !keyed) {
      throw new UnavailableError(
        'The notices could not all be stored, and those that were could not be removed, so some may still be sent. Send batches with an Idempotency-Key: a retry with it never sends one twice.',
        RETRY_AFTER_SECONDS,
        { cause: error },
      );
    }
    throw new UnavailableError('The notices could not be stored; nothing was accepted. Retry the request.', RETRY_AFTER_SECONDS, { cause: error });
  }

  const doorbells = built.flatMap((b) => (b.ring ? [b.ring] : [])) as Doorbell[];
  const unrung = await deps.queue.ring(doorbells);
  if (unrung.length > 0) deps.log.warn('doorbells not rung; the sweep will ring them', { institution: institution.id, count: unrung.length });

  await Promise.all(
    proceeding.map((part) =>
      deps.idempotency.complete(part.request).catch((error: unknown) =>
        // The notices are stored; a retry that finds the key still in progress takes it over and writes nothing new.
        deps.log.warn('idempotency key not marked complete', { institution: institution.id, code: errorCode(error) }),
      ),
    ),
  );
  const created = ids.filter((_, index) => !replayed.has(index));
  deps.log.info('notices accepted', { institution: institution.id, count: created.length, batch, ids: created.length <= 10 ? created : undefined, alreadyAccepted: replayed.size || undefined });
  return accepted(ids, batch, ids.filter((_, index) => replayed.has(index)));
};
