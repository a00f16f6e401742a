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
import { afterAttempt, defer, discard, heldForPause, onDoorbell, suppress, takeLease } from '../lifecycle/transitions';
import { REPORT_UNDELIVERED_LOG } from '../log';
import { type BatchLookups, suppressionLookupKey } from '../store/batch-lookups';
import type { SuppressionEntry, SuppressionStore } from '../store/suppression-store';
import { suppressionKey } from '../suppression/address';
import { suppressAddress, suppressionWords } from '../suppression/suppress';
import { composeMessage } from '../mime/compose';
import { type Notice, type NoticeContent, PENDING_STATUSES } from '../notice/model';
import { deliveryFailure } from '../transport/classify';
import { type TransportDeps, TransportSession } from '../transport/factory';
import { admitReservedSend, reserveSlot } from '../transport/rate-gate';
import type { TransportState, TransportStates } from '../transport/records';
import { applyPlan, lifecycleContext } from './plan';
import { TransportWatch } from './transport-watch';

export interface DeliveryDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  transports: TransportDeps;
  /** Each institution's transport state: its rate limit's slots, its paused sending (shared/transport/records.ts). */
  transportStates: TransportStates;
  /** The hard deadline of one attempt (docs/contributing/notice-flow.md). */
  attemptTimeoutSeconds: number;
  /** Waits out a slot less than a second away rather than sending before it. */
  sleep: (ms: number) => Promise<void>;
  /** A batch's transport states and suppression entries, read together once it has its notices. */
  batchLookups: BatchLookups;
  /** The institutions' suppression lists: a notice to an address on its list ends `suppressed`, unsent. */
  suppressions?: SuppressionStore;
  /** `suppression.days`: how long a refused address stays on the list. */
  suppressionDays?: number;
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

/**
 * What the batch needs besides its notices, in one read: the transport state of each institution in it
 * (whether its sending is paused) and the suppression entries that stop its notices, by notice.
 */
const lookupsOf = async (
  deps: DeliveryDeps,
  loaded: Map<NoticeId, { notice: Notice }>,
  now: Date,
): Promise<{ transportStates: Map<string, TransportState>; suppressed: Map<NoticeId, SuppressionEntry> }> => {
  const notices = [...loaded.values()].map((entry) => entry.notice);
  // Reports go to the library's own desk, which is never suppressed.
  const suppressible = deps.suppressions ? notices.filter((notice) => notice.kind === 'notice' && PENDING_STATUSES.has(notice.status)) : [];
  const { transportStates, suppressions } = await deps.batchLookups.lookup({
    institutionIds: notices.map((notice) => notice.institutionId),
    addresses: suppressible.map((notice) => ({ institutionId: notice.institutionId, address: suppressionKey(notice.to) })),
    now,
  });
  const suppressed = new Map<NoticeId, SuppressionEntry>();
  for (const notice of suppressible) {
    const entry = suppressions.get(suppressionLookupKey(notice.institutionId, suppressionKey(notice.to)));
    if (entry) suppressed.set(notice.id, entry);
  }
  return { transportStates, suppressed };
};

/** One SQS batch of doorbells. */
export class DeliveryBatch {
  private readonly doorbells: Doorbell[] = [];
  private readonly session: TransportSession;
  /** Each institution's transport state, read once per batch: whether its sending is paused. */
  private readonly watch: TransportWatch;

  private constructor(
    private readonly deps: DeliveryDeps,
    private readonly loaded: Map<NoticeId, { notice: Notice; content?: NoticeContent }>,
    private readonly suppressed: Map<NoticeId, SuppressionEntry>,
  ) {
    this.session = new TransportSession(deps.transports);
    this.watch = new TransportWatch(deps);
  }

  /**
   * Reads every notice of the batch, state and content, in one round of BatchGetItem, then its
   * institutions' transport states and the suppression entries of its addresses in one more: a batch
   * costs two reads whatever it holds, and an address suppressed after its notice was accepted is caught
   * all the same.
   */
  public static async open(deps: DeliveryDeps, ids: NoticeId[]): Promise<DeliveryBatch> {
    const loaded = await deps.store.getForDelivery(ids);
    const { transportStates, suppressed } = await lookupsOf(deps, loaded, deps.clock.now());
    const batch = new DeliveryBatch(deps, loaded, suppressed);
    batch.watch.prime(transportStates);
    return batch;
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
    // A notice held for the institution's paused sending goes as soon as the pause is over, whatever time
    // it was held until (the sweep rings held notices when sending resumes before their time).
    const pauseOver = heldForPause(entry.notice) && deps.institutions.has(entry.notice.institutionId) && !(await this.watch.paused(entry.notice.institutionId));
    const decision = onDoorbell(entry.notice, now, pauseOver);
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
        if (entry.notice.kind === 'report') deps.log.error(REPORT_UNDELIVERED_LOG, { noticeId: id, reportFor: entry.notice.reportFor });
        else deps.log.info('notice discarded', { noticeId: id });
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
    const institution = deps.institutions.get(found.institutionId);
    // The institution's own setup refused mail: only the probe goes until it works again.
    const clearance = institution ? await this.watch.clear(institution, found) : { kind: 'send' as const };
    if (clearance.kind === 'hold') {
      // Within SQS's longest delay, the notice is left as it is and its doorbell rung again for the
      // probe's time: a night's batch held through a short pause costs no write at all.
      const doorbell = waitFor(found, clearance.until, deps.clock.now());
      if (doorbell) {
        this.doorbells.push(doorbell);
        deps.log.debug('notice held', { noticeId: found.id, institution: found.institutionId, code: clearance.code, until: clearance.until.toISOString() });
        return 'deferred';
      }
    }
    let notice: Notice;
    try {
      notice = await deps.store.apply(takeLease(found, deps.clock.now(), deps.newId(), deps.settings));
    } catch (error) {
      if (institution && clearance.kind === 'send' && clearance.probeToken) await this.watch.release(institution, clearance.probeToken);
      if (error instanceof StaleNoticeError) {
        // Another sender took it between our read and our lease: it sends, we do not.
        deps.log.debug('lease taken by another sender', { noticeId: found.id });
        return 'skipped';
      }
      throw error;
    }
    if (clearance.kind === 'hold') {
      // A longer pause: the notice waits in the store for the sweep, with one entry in its history.
      const deferred = await this.applyLeased(notice, (current) => defer(current, clearance.until, deps.clock.now(), lifecycleContext(deps), clearance.reason, false, clearance.code));
      if (deferred) deps.log.info('notice held', { noticeId: notice.id, institution: notice.institutionId, code: clearance.code, until: clearance.until.toISOString() });
      return 'deferred';
    }
    const held = institution ? await this.holdBack(notice, institution, 1 + (content?.cc?.length ?? 0)) : undefined;
    // A short wait comes out of the attempt's own time (its deadline counts from the lease); a longer one defers.
    if (held?.sendsHere) {
      await deps.sleep(Math.max(0, held.at.getTime() - deps.clock.now().getTime()));
    } else if (held) {
      if (institution && clearance.probeToken) await this.watch.release(institution, clearance.probeToken);
      const deferred = await this.applyLeased(notice, (current) => defer(current, held.at, deps.clock.now(), lifecycleContext(deps), held.reason, held.reserved));
      if (deferred) deps.log.info('notice held back', { noticeId: notice.id, until: held.at.toISOString() });
      return 'deferred';
    }

    const startedAt = deps.clock.now();
    const attempted = await this.send(notice, content, startedAt);
    const result = institution ? await this.watch.settle(institution, notice, attempted, clearance.probeToken) : attempted;
    const recorded = await this.applyLeased(notice, (current) => afterAttempt(current, result, deps.clock.now(), lifecycleContext(deps)));
    if (!recorded) {
      // Only a lease that expired under us lets another actor take the notice; the deadline is
      // shorter than the lease, so this means the process was paused past it.
      deps.log.error('attempt outcome not recorded: the lease was lost', { noticeId: notice.id, sent: result.ok });
      return 'skipped';
    }
    if (result.ok) {
      deps.log.info('notice sent', { noticeId: notice.id, server: result.server, attempt: recorded.attemptCount });
    } else {
      const { facts, verdict, scope } = result.error;
      const attributes = { noticeId: notice.id, institution: notice.institutionId, server: facts.server, code: facts.code, responseCode: facts.responseCode, scope, verdict, status: recorded.status };
      // The institution's pause has its own line, once (transport-watch.ts); each notice it holds is INFO.
      if (result.heldUntil) deps.log.info('notice held', { ...attributes, until: result.heldUntil.toISOString() });
      else deps.log.warn('notice not sent', attributes);
    }
    if (recorded.status === 'discarded' && recorded.kind === 'report') deps.log.error(REPORT_UNDELIVERED_LOG, { noticeId: recorded.id, reportFor: recorded.reportFor });
    // The relay refused the patron's address for good (the catalogue's recipient scope, e.g. 550 5.1.1): the
    // next notice to it is not sent. A refusal the safety net took for the library's own setup is not one.
    if (!result.ok && result.error.scope === 'recipient' && result.error.verdict === 'permanent' && recorded.status === 'failed' && recorded.kind === 'notice' && deps.suppressions) {
      const { facts } = result.error;
      const reply = [facts.responseCode, facts.enhancedStatus].filter((part) => part !== undefined).join(' ');
      await suppressAddress(
        { suppressions: deps.suppressions, suppressionDays: deps.suppressionDays ?? 0, clock: deps.clock, log: deps.log },
        { institutionId: recorded.institutionId, address: recorded.to, reason: 'bounce', detail: `${reply || facts.code} from ${facts.server ?? facts.transport}`, noticeId: recorded.id },
      );
    }
    // Delivered, bounced or complained here means SES reported on a copy it took while this attempt ran.
    if (recorded.status === 'failed' || recorded.status === 'discarded') return recorded.status;
    if (!result.ok && result.heldUntil && PENDING_STATUSES.has(recorded.status)) return 'deferred';
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

  /**
   * When the notice must wait for the next slot of the transport's rate limit (reserved for the notice)
   * instead of being sent now. Undefined: send now.
   */
  private async holdBack(notice: Notice, institution: InstitutionConfig, recipients: number): Promise<{ at: Date; reason: string; reserved: boolean; sendsHere: boolean } | undefined> {
    const now = this.deps.clock.now().getTime();
    const { maxPerMinute, maxPerDay } = institution.transport;
    if (!maxPerMinute && !maxPerDay) return undefined;
    // A notice coming back to the slot it was given goes in it without taking another, once the sends
    // of the last minute leave room (it may come back late, beside notices that are on time).
    if (notice.reservedSlotAt) {
      const reserved = new Date(notice.reservedSlotAt);
      if (reserved.getTime() <= now + SLOT_WAIT_MS) {
        if (!maxPerMinute) return reserved.getTime() > now ? { at: reserved, reason: 'its slot', reserved: true, sendsHere: true } : undefined;
        const { at, admitted } = await admitReservedSend(this.deps.transportStates, institution.id, maxPerMinute, reserved, new Date(now), this.slotWaitMs);
        if (at.getTime() <= now) return undefined;
        return { at, reason: at.getTime() === reserved.getTime() ? 'its slot' : `held back by maxPerMinute (${maxPerMinute})`, reserved: true, sendsHere: admitted };
      }
    }
    const slot = await reserveSlot(this.deps.transportStates, institution.id, { maxPerMinute, maxPerDay }, new Date(now), recipients, this.slotWaitMs);
    const sendsHere = slot.at.getTime() <= now + this.slotWaitMs;
    return slot.at.getTime() > now ? { at: slot.at, reason: slot.reason ?? 'held back by the rate limit', reserved: true, sendsHere } : undefined;
  }

  /** The longest wait for a slot spent in the sender, out of the attempt's own time; a longer one defers. */
  private get slotWaitMs(): number {
    return Math.min(SLOT_WAIT_MS, this.recordingMarginMs / 2);
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
        throw deliveryFailure('ECONFIG', `institution ${notice.institutionId} is not in the configuration`, { transport: 'smtp' });
      }
      if (!content) {
        throw deliveryFailure('ENOCONTENT', 'the content of the notice is no longer stored', { transport: institution.transport.kind });
      }
      const deadline = this.deadline(notice, startedAt);
      if (deadline.getTime() <= startedAt.getTime()) {
        throw deliveryFailure('ELEASE', 'the lease ran out before the message could be sent', { transport: institution.transport.kind });
      }
      const message = await composeMessage(notice, content, institution, { now: startedAt });
      const transport = await this.session.for(institution);
      const receipt = await transport.send(message, { deadline });
      return { ok: true, ...receipt, startedAt };
    } catch (error) {
      if (error instanceof DeliveryError) return { ok: false, error, startedAt };
      // Not a classified send failure (composition, a bug): transient, so maxAge bounds it.
      deps.log.error('attempt failed unexpectedly', { noticeId: notice.id, code: errorCode(error) });
      return { ok: false, error: deliveryFailure('EINTERNAL', `the attempt failed inside the sender (${errorCode(error)})`, { transport: institution?.transport.kind ?? 'smtp' }, error), startedAt };
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
