// Delivery of the notices one SQS batch rings for: read them all at once, then for each one
// lease → compose → send → record, and ring what must be tried again at the end.
import { addSeconds } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import type { CoreDeps } from '../core-deps';
import { DeliveryError, errorCode, StaleNoticeError } from '../errors';
import type { NoticeId } from '../ids';
import {
  afterAttempt,
  type AttemptResult,
  discard,
  type Doorbell,
  onDoorbell,
  takeLease,
  waitFor,
} from '../lifecycle/transitions';
import { composeMessage } from '../mime/compose';
import type { Notice, NoticeContent } from '../notice/model';
import { type TransportDeps, TransportSession } from '../transport/factory';
import { applyPlan, lifecycleContext } from './plan';

export interface DeliveryDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  transports: TransportDeps;
  /** The hard deadline of one attempt (DESIGN.md §3). */
  attemptTimeoutSeconds: number;
}

/** What became of one doorbell. */
export type DeliveryOutcome = 'sent' | 'retrying' | 'failed' | 'discarded' | 'waiting' | 'skipped' | 'unknown';

/** One SQS batch of doorbells. */
export class DeliveryBatch {
  private readonly doorbells: Doorbell[] = [];
  private readonly session: TransportSession;

  private constructor(
    private readonly deps: DeliveryDeps,
    private readonly loaded: Map<NoticeId, { notice: Notice; content?: NoticeContent }>,
  ) {
    this.session = new TransportSession(deps.transports);
  }

  /** Reads every notice of the batch, state and content, in one round of BatchGetItem. */
  public static async open(deps: DeliveryDeps, ids: NoticeId[]): Promise<DeliveryBatch> {
    return new DeliveryBatch(deps, await deps.store.getForDelivery(ids));
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
      case 'give-up':
        await applyPlan(deps, discard(entry.notice, now, lifecycleContext(deps)), this.doorbells);
        deps.log.info('notice discarded', { noticeId: id });
        return 'discarded';
      case 'send':
        return this.attempt(entry.notice, entry.content);
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

    const startedAt = deps.clock.now();
    const result = await this.send(notice, content, startedAt);
    const plan = afterAttempt(notice, result, deps.clock.now(), lifecycleContext(deps));
    const recorded = await applyPlan(deps, plan, this.doorbells);
    if (!recorded) {
      // Only a lease that expired under us lets another actor change the notice; the deadline
      // is shorter than the lease, so this means the process was paused past it.
      deps.log.error('attempt outcome not recorded: the lease was lost', { noticeId: notice.id, sent: result.ok });
      return 'skipped';
    }
    if (result.ok) {
      deps.log.info('notice sent', { noticeId: notice.id, server: result.server, attempt: recorded.attemptCount });
    } else {
      const { facts, verdict } = result.error;
      const attributes = { noticeId: notice.id, institution: notice.institutionId, server: facts.server, code: facts.code, responseCode: facts.responseCode, verdict, status: recorded.status };
      if (facts.authFailure) deps.log.error('transport authentication failed', attributes);
      else deps.log.warn('notice not sent', attributes);
    }
    return recorded.status === 'sent' ? 'sent' : recorded.status === 'failed' ? 'failed' : recorded.status === 'discarded' ? 'discarded' : 'retrying';
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
      const message = await composeMessage(notice, content, institution, { now: startedAt });
      const transport = await this.session.for(institution);
      const receipt = await transport.send(message, { deadline: addSeconds(startedAt, deps.attemptTimeoutSeconds) });
      return { ok: true, transport: receipt.transport, server: receipt.server, messageId: receipt.messageId, response: receipt.response, startedAt };
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
