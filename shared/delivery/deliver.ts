// Delivery of the notices one SQS batch rings for: read them all at once, then for each one
// lease → compose → send → record, and ring what must be tried again at the end.
import { addSeconds } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import type { CoreDeps } from '../core-deps';
import { DeliveryError, errorCode, StaleNoticeError } from '../errors';
import type { NoticeId } from '../ids';
import type { AttemptResult } from '../lifecycle/history';
import type { Doorbell, Plan } from '../lifecycle/plan';
import { waitFor } from '../lifecycle/scheduling';
import { afterAttempt, defer, discard, onDoorbell, suppress, takeLease } from '../lifecycle/transitions';
import { AUTH_FAILURE_LOG } from '../log';
import type { SuppressionEntry, SuppressionStore } from '../store/suppression-store';
import { suppressionKey } from '../suppression/address';
import { suppressionWords } from '../suppression/suppress';
import { composeMessage } from '../mime/compose';
import { type Notice, type NoticeContent, PENDING_STATUSES } from '../notice/model';
import { type TransportDeps, TransportSession } from '../transport/factory';
import { pauseFor, type RateGate } from '../transport/rate-gate';
import type { TransportRecord, TransportRecords } from '../transport/records';
import { applyPlan, lifecycleContext } from './plan';

export interface DeliveryDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  transports: TransportDeps;
  rates: RateGate;
  transportRecords: TransportRecords;
  /** The hard deadline of one attempt (README: How delivery works). */
  attemptTimeoutSeconds: number;
  /** Waits out a slot less than a second away rather than sending before it. */
  sleep: (ms: number) => Promise<void>;
  /** The institutions' suppression lists: a notice to an address on its list ends `suppressed`, unsent. */
  suppressions?: SuppressionStore;
}

/** What became of one doorbell. */
export type DeliveryOutcome = 'sent' | 'retrying' | 'failed' | 'discarded' | 'deferred' | 'waiting' | 'skipped' | 'suppressed' | 'unknown';

/**
 * A slot or pause at most this close is waited for in the sender rather than through the queue (SQS
 * delays are whole seconds); a notice is never sent before its slot, so the spacing holds at the relay.
 */
const SLOT_WAIT_MS = 1000;
/** Compare-and-set tries to record an outcome while other writers only append to the notice. */
const RECORD_TRIES = 4;

/** The suppression entries that stop notices of the batch, by notice: one read per institution in it. */
const suppressedOf = async (deps: DeliveryDeps, loaded: Map<NoticeId, { notice: Notice }>, now: Date): Promise<Map<NoticeId, SuppressionEntry>> => {
  const found = new Map<NoticeId, SuppressionEntry>();
  const { suppressions } = deps;
  if (!suppressions) return found;
  // Reports go to the library's own desk, which is never suppressed.
  const notices = [...loaded.values()].map((entry) => entry.notice).filter((notice) => notice.kind === 'notice' && PENDING_STATUSES.has(notice.status));
  const byInstitution = new Map<string, Notice[]>();
  for (const notice of notices) byInstitution.set(notice.institutionId, [...(byInstitution.get(notice.institutionId) ?? []), notice]);
  for (const [institutionId, ofInstitution] of byInstitution) {
    const entries = await suppressions.findMany(institutionId, ofInstitution.map((notice) => suppressionKey(notice.to)), now);
    for (const notice of ofInstitution) {
      const entry = entries.get(suppressionKey(notice.to));
      if (entry) found.set(notice.id, entry);
    }
  }
  return found;
};

/** One SQS batch of doorbells. */
export class DeliveryBatch {
  private readonly doorbells: Doorbell[] = [];
  private readonly session: TransportSession;
  /** Each institution's transport record, read once per batch: its pause, its last authentication failure. */
  private readonly records = new Map<string, Promise<TransportRecord>>();

  private constructor(
    private readonly deps: DeliveryDeps,
    private readonly loaded: Map<NoticeId, { notice: Notice; content?: NoticeContent }>,
    private readonly suppressed: Map<NoticeId, SuppressionEntry>,
  ) {
    this.session = new TransportSession(deps.transports);
  }

  /**
   * Reads every notice of the batch, state and content, in one round of BatchGetItem, then the suppression
   * entries of their addresses in one more: a batch costs one read of the list, not one per notice, and an
   * address suppressed after its notice was accepted is caught all the same.
   */
  public static async open(deps: DeliveryDeps, ids: NoticeId[]): Promise<DeliveryBatch> {
    const loaded = await deps.store.getForDelivery(ids);
    return new DeliveryBatch(deps, loaded, await suppressedOf(deps, loaded, deps.clock.now()));
  }

  /**
   * Handles one doorbell. Resolves once the outcome is recorded; throws only when it could not be
   * (the store is unreachable), so that SQS delivers the doorbell again.
   */
  public async deliver(id: NoticeId): Promise<DeliveryOutcome> {
    const { deps } = this;
    const entry = this.loaded.get(id);
    if (!entry) {
      deps.log.info('doorbell for a notice that does not exist', { noticeId: id });
      return 'unknown';
    }
    this.loaded.delete(id); // a second doorbell for it in this batch must read it afresh
    const now = deps.clock.now();
    const decision = onDoorbell(entry.notice, now);
    switch (decision.action) {
      case 'skip':
        deps.log.debug('doorbell skipped', { noticeId: id, reason: decision.reason });
        return 'skipped';
      case 'wait': {
        const doorbell = waitFor(entry.notice, decision.until, now);
        if (doorbell) this.doorbells.push(doorbell);
        return 'waiting';
      }
      case 'give-up': {
        // Another actor may have ended it first (the sweep, a DELETE, SES feedback): then it did.
        const discarded = await applyPlan(deps, discard(entry.notice, now, lifecycleContext(deps)), this.doorbells);
        if (!discarded) return 'skipped';
        deps.log.info('notice discarded', { noticeId: id });
        return 'discarded';
      }
      case 'send': {
        const suppression = this.suppressed.get(id);
        if (!suppression) return this.attempt(entry.notice, entry.content);
        const found = { reason: suppressionWords(suppression), since: suppression.createdAt };
        const ended = await applyPlan(deps, suppress(entry.notice, found, now, lifecycleContext(deps)), this.doorbells);
        if (!ended) return 'skipped';
        deps.log.info('notice suppressed', { noticeId: id });
        return 'suppressed';
      }
    }
  }

  private async attempt(found: Notice, content: NoticeContent | undefined): Promise<DeliveryOutcome> {
    const { deps } = this;
    let notice: Notice;
    try {
      notice = await deps.store.apply(takeLease(found, deps.clock.now(), deps.newId(), deps.settings));
    } catch (error) {
      if (error instanceof StaleNoticeError) {
        // Another sender took it between our read and our lease: it sends, we do not.
        deps.log.debug('lease taken by another sender', { noticeId: found.id });
        return 'skipped';
      }
      throw error;
    }

    const institution = deps.institutions.get(notice.institutionId);
    const held = institution ? await this.holdBack(notice, institution, 1 + (content?.cc?.length ?? 0)) : undefined;
    const wait = held ? held.at.getTime() - deps.clock.now().getTime() : 0;
    // A short wait comes out of the attempt's own time (its deadline counts from the lease); a longer one defers.
    if (held && wait <= Math.min(SLOT_WAIT_MS, this.recordingMarginMs / 2)) {
      await deps.sleep(Math.max(0, wait));
    } else if (held) {
      const deferred = await this.applyLeased(notice, (current) => defer(current, held.at, deps.clock.now(), lifecycleContext(deps), held.reason, held.reserved));
      if (deferred) deps.log.info('notice held back', { noticeId: notice.id, until: held.at.toISOString() });
      return 'deferred';
    }

    const startedAt = deps.clock.now();
    const result = await this.send(notice, content, startedAt);
    const recorded = await this.applyLeased(notice, (current) => afterAttempt(current, result, deps.clock.now(), lifecycleContext(deps)));
    if (!recorded) {
      // Only a lease that expired under us lets another actor take the notice; the deadline is
      // shorter than the lease, so this means the process was paused past it.
      deps.log.error('attempt outcome not recorded: the lease was lost', { noticeId: notice.id, sent: result.ok });
      return 'skipped';
    }
    if (institution) await this.noteTransport(institution, result);
    if (result.ok) {
      deps.log.info('notice sent', { noticeId: notice.id, server: result.server, attempt: recorded.attemptCount });
    } else {
      const { facts, verdict } = result.error;
      const attributes = { noticeId: notice.id, institution: notice.institutionId, server: facts.server, code: facts.code, responseCode: facts.responseCode, verdict, status: recorded.status };
      if (facts.authFailure) deps.log.error(AUTH_FAILURE_LOG, attributes);
      else deps.log.warn('notice not sent', attributes);
    }
    // Delivered, bounced or complained here means SES reported on a copy it took while this attempt ran.
    if (recorded.status === 'failed' || recorded.status === 'discarded') return recorded.status;
    return PENDING_STATUSES.has(recorded.status) ? 'retrying' : 'sent';
  }

  /**
   * Applies what `plan` makes of a notice this sender leased: the outcome of its attempt, or its deferral.
   * SES feedback may append an event while the notice is being sent, which moves its version on; while
   * the lease is still ours, the plan is made again on the notice as it now is. Giving up here would
   * leave it `sending` until the lease expired, and the sweep would then have it sent a second time.
   * Undefined when the lease is no longer ours.
   */
  private async applyLeased(leased: Notice, plan: (notice: Notice) => Plan): Promise<Notice | undefined> {
    const { deps } = this;
    let notice = leased;
    for (let tries = 1; ; tries++) {
      const applied = await applyPlan(deps, plan(notice), this.doorbells);
      if (applied) return applied;
      const current = await deps.store.getNotice(notice.id);
      if (!current || current.status !== 'sending' || current.leaseToken !== leased.leaseToken) return undefined;
      if (tries >= RECORD_TRIES) {
        deps.log.error('notice kept changing while its attempt was recorded', { noticeId: notice.id });
        return undefined;
      }
      notice = current;
    }
  }

  private record(institutionId: string): Promise<TransportRecord> {
    let record = this.records.get(institutionId);
    if (!record) {
      record = this.deps.transportRecords.get(institutionId);
      this.records.set(institutionId, record);
      record.catch(() => this.records.delete(institutionId));
    }
    return record;
  }

  /**
   * When the notice must wait instead of being sent now: a pause a relay asked for, or the next slot
   * of the transport's rate limit (reserved for the notice). Undefined: send now.
   */
  private async holdBack(notice: Notice, institution: InstitutionConfig, recipients: number): Promise<{ at: Date; reason: string; reserved: boolean } | undefined> {
    const now = this.deps.clock.now().getTime();
    const record = await this.record(institution.id);
    const pausedUntil = record.pausedUntil ? new Date(record.pausedUntil) : undefined;
    if (pausedUntil && pausedUntil.getTime() > now) {
      return { at: pausedUntil, reason: `the relay asked to wait: ${record.pauseReason ?? 'throttled'}`, reserved: false };
    }
    const { maxPerMinute, maxPerDay } = institution.transport;
    if (!maxPerMinute && !maxPerDay) return undefined;
    // A notice coming back to the slot it was given sends in it without taking another.
    if (notice.reservedSlotAt) {
      const reserved = new Date(notice.reservedSlotAt);
      if (reserved.getTime() <= now + SLOT_WAIT_MS) return reserved.getTime() > now ? { at: reserved, reason: 'its slot', reserved: true } : undefined;
    }
    const slot = await this.deps.rates.reserve(institution.id, { maxPerMinute, maxPerDay }, new Date(now), recipients);
    return slot.at.getTime() > now ? { at: slot.at, reason: slot.reason ?? 'held back by the rate limit', reserved: true } : undefined;
  }

  /** What an attempt tells about the transport: a pause to honour, credentials that broke or work again. */
  private async noteTransport(institution: InstitutionConfig, result: AttemptResult): Promise<void> {
    const { deps } = this;
    const now = deps.clock.now();
    try {
      if (!result.ok) {
        const { facts } = result.error;
        const pauseMs = pauseFor(facts, deps.settings.retry);
        if (pauseMs) {
          await deps.rates.pause(institution.id, new Date(now.getTime() + pauseMs), `${facts.responseCode ?? facts.code} from ${facts.server ?? facts.transport}`);
          this.records.delete(institution.id);
        }
        if (facts.authFailure) {
          await deps.transportRecords.recordAuthFailure(institution.id, { at: now.toISOString(), server: facts.server ?? facts.transport, code: facts.code, message: result.error.message.slice(0, 300) });
          this.records.delete(institution.id);
        }
        return;
      }
      const record = await this.record(institution.id);
      if (record.lastAuthFailure && !record.authRecoveredAt) {
        await deps.transportRecords.recordAuthRecovered(institution.id, now);
        this.records.set(institution.id, Promise.resolve({ ...record, authRecoveredAt: now.toISOString() }));
      }
    } catch (error) {
      // The notice's outcome is recorded; the transport's record is for IT, and a later attempt updates it.
      deps.log.warn('transport record not updated', { institution: institution.id, code: errorCode(error) });
    }
  }

  /** The last part of the lease, kept to record the attempt's outcome (the configuration makes the lease outlast the attempt timeout). */
  private get recordingMarginMs(): number {
    return (this.deps.settings.leaseSeconds - this.deps.attemptTimeoutSeconds) * 1000;
  }

  /**
   * The attempt's deadline: `attemptTimeoutSeconds` from its start, and never so late that it eats into
   * the recording margin: a store slow before the send (the lease, the rate limit) shortens the attempt,
   * or the sweep would make the notice due again while it is being sent.
   */
  private deadline(notice: Notice, startedAt: Date): Date {
    const byTimeout = addSeconds(startedAt, this.deps.attemptTimeoutSeconds).getTime();
    const byLease = notice.leaseExpiresAt ? Date.parse(notice.leaseExpiresAt) - this.recordingMarginMs : byTimeout;
    return new Date(Math.min(byTimeout, byLease));
  }

  /** One attempt: compose once, send within the deadline, and turn any failure into a classified result. */
  private async send(notice: Notice, content: NoticeContent | undefined, startedAt: Date): Promise<AttemptResult> {
    const { deps } = this;
    const institution = deps.institutions.get(notice.institutionId);
    try {
      if (!institution) {
        throw new DeliveryError(`institution ${notice.institutionId} is not in the configuration`, 'transient', { transport: 'smtp', code: 'ECONFIG' });
      }
      if (!content) {
        throw new DeliveryError('the content of the notice is no longer stored', 'permanent', { transport: institution.transport.kind, code: 'ENOCONTENT' });
      }
      const deadline = this.deadline(notice, startedAt);
      if (deadline.getTime() <= startedAt.getTime()) {
        throw new DeliveryError('the lease ran out before the message could be sent', 'transient', { transport: institution.transport.kind, code: 'ELEASE' });
      }
      const message = await composeMessage(notice, content, institution, { now: startedAt });
      const transport = await this.session.for(institution);
      const receipt = await transport.send(message, { deadline });
      return { ok: true, ...receipt, startedAt };
    } catch (error) {
      if (error instanceof DeliveryError) return { ok: false, error, startedAt };
      // Not a classified send failure (composition, a bug): transient, so maxAge bounds it.
      deps.log.error('attempt failed unexpectedly', { noticeId: notice.id, code: errorCode(error) });
      return { ok: false, error: new DeliveryError('the attempt failed inside the sender', 'transient', { transport: institution?.transport.kind ?? 'smtp', code: errorCode(error) }, { cause: error }), startedAt };
    }
  }

  /** Rings the batch's doorbells (retries within 15 minutes, early arrivals, reports) and closes connections. */
  public async close(): Promise<void> {
    await this.session.close();
    if (this.doorbells.length === 0) return;
    const unrung = await this.deps.queue.ring(this.doorbells.splice(0));
    if (unrung.length) this.deps.log.warn('doorbells not rung; the sweep will ring them', { count: unrung.length });
  }
}
