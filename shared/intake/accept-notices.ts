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
import type { IdempotencyRequest, IdempotencyStore } from '../store/idempotency-store';

export interface IntakeDeps extends CoreDeps {
  idempotency: IdempotencyStore;
  sleep: (ms: number) => Promise<void>;
}

export interface Accepted {
  batch: boolean;
  notices: Array<{ id: NoticeId; status: 'queued' }>;
  /** The answer repeats that of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
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

const accepted = (ids: NoticeId[], batch: boolean, replayed: boolean): Accepted => ({ batch, replayed, notices: ids.map((id) => ({ id, status: 'queued' })) });

/**
 * Accepts one notice or a batch for an institution.
 * Primary course: 1. validate the whole submission; 2. claim the Idempotency-Key, if any;
 * 3. write every notice; 4. ring their doorbells; 5. mark the key complete.
 * @example
 * const result = await acceptNotices(deps, institution, JSON.parse(body), headers['idempotency-key']);
 */
export const acceptNotices = async (deps: IntakeDeps, institution: InstitutionConfig, body: unknown, idempotencyKey?: string, options: AcceptOptions = {}): Promise<Accepted> => {
  const now = deps.clock.now();
  const { notices, batch } = validateSubmission(body, now);
  let ids = notices.map(() => deps.newId());
  let takeover = false;

  let request: IdempotencyRequest | undefined;
  if (idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ValidationError('The Idempotency-Key header must be 1–255 visible ASCII characters.', [{ path: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' }], 'invalid_idempotency_key');
    }
    request = { institutionId: institution.id, key: idempotencyKey, requestHash: createHash('sha256').update(canonicalJson(body)).digest('hex'), ids, batch, now };
    const deadline = now.getTime() + IN_PROGRESS_WAIT_MS;
    for (;;) {
      const claim = await deps.idempotency.claim({ ...request, now: deps.clock.now() });
      if (claim.kind === 'replay') return accepted(claim.ids, claim.batch, true);
      if (claim.kind === 'mismatch') {
        throw new ConflictError('This Idempotency-Key was already used with a different request body.', 'idempotency_key_reused');
      }
      if (claim.kind === 'proceed') {
        ({ ids, takeover } = claim);
        break;
      }
      if (deps.clock.now().getTime() >= deadline) {
        throw new ConflictError('A request with this Idempotency-Key is still being processed; retry shortly.', 'idempotency_in_progress');
      }
      await deps.sleep(IN_PROGRESS_POLL_MS);
    }
  }

  const built = notices.map((input, index) => newNotice(input, { id: ids[index] as NoticeId, institutionId: institution.id, now, random: deps.random, settings: deps.settings }));
  let toWrite: NewNotice[] = built.map((b) => b.record);
  if (takeover) {
    // An earlier request with this key died part-way: write only what it did not.
    const existing = await deps.store.existingIds(ids);
    toWrite = toWrite.filter((record) => !existing.has(record.notice.id));
  }

  try {
    await deps.store.createNotices(toWrite);
  } catch (error) {
    deps.log.error('notices not stored', { institution: institution.id, count: toWrite.length, code: errorCode(error) });
    // Without a key a retry makes new ids: what was written must go, or it would be sent twice. With one,
    // the retry takes over and writes what is missing under the same ids, so what was written may stay,
    // unless the caller promised that nothing of a refused request is ever sent.
    const inTime = deps.clock.now().getTime() - now.getTime() < UNDO_WITHIN_MS;
    const undo = !request || (options.wholeOrNothing === true && inTime);
    if (options.wholeOrNothing && request && !inTime) {
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
    if (request) await deps.idempotency.release(request).catch(() => undefined);
    if (!undone && !request) {
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

  if (request) {
    await deps.idempotency.complete(request).catch((error: unknown) =>
      // The notices are stored; a retry that finds the key still in progress takes it over and writes nothing new.
      deps.log.warn('idempotency key not marked complete', { institution: institution.id, code: errorCode(error) }),
    );
  }
  deps.log.info('notices accepted', { institution: institution.id, count: ids.length, batch, ids: ids.length <= 10 ? ids : undefined });
  return accepted(ids, batch, false);
};
