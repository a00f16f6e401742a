// The sender's side of an institution's paused sending (docs/it/mail-systems.md, When sending pauses): before a notice is sent,
// whether it may be (or is the probe); after, what its outcome does to the institution's sending. The
// decisions are shared/transport/pause.ts's; this module reads the shared transport state once per batch
// (or is primed with it by the batch's lookups),
// writes it with a compare-and-set when an outcome changes it, and writes the log lines IT and the alarms
// read: one per change of state.
import { createHash } from 'node:crypto';
import { addSeconds, type Clock, type Random } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { errorCode } from '../errors';
import type { IdSource } from '../ids';
import type { AttemptResult } from '../lifecycle/history';
import type { LifecycleSettings } from '../lifecycle/plan';
import { type Log, TRANSPORT_PAUSED_LOG, TRANSPORT_RESUMED_LOG, TRANSPORT_SLOWED_LOG } from '../log';
import type { Notice } from '../notice/model';
import { deliveryFailure, outcomeOf } from '../transport/classify';
import { afterAttempt, type AttemptOutcome, gate, holdReason, needsRecording, pauseTiming, releaseProbe, type Verdict } from '../transport/pause';
import { changeState, type TransportState, type TransportStates } from '../transport/records';

export interface TransportWatchDeps {
  transportStates: TransportStates;
  clock: Clock;
  random: Random;
  newId: IdSource;
  log: Log;
  settings: LifecycleSettings;
}

/** Whether a notice goes now (perhaps as the probe), or waits for the institution's sending to resume. */
export type Clearance = { kind: 'send'; probeToken?: string } | { kind: 'hold'; until: Date; reason: string; code: string };

/** A digest of the patron's address: the safety net tells patrons apart without keeping their addresses. */
const recipientKey = (address: string): string => createHash('sha256').update(address.toLowerCase()).digest('hex').slice(0, 16);

/** The institutions' transport states as one batch sees them: read once, then as its own writes leave them. */
export class TransportWatch {
  private readonly seen = new Map<string, Promise<TransportState>>();

  public constructor(private readonly deps: TransportWatchDeps) {}

  /** The state as last seen by this batch (read on first use). */
  private state(institutionId: string): Promise<TransportState> {
    let state = this.seen.get(institutionId);
    if (!state) {
      state = this.deps.transportStates.read(institutionId);
      this.seen.set(institutionId, state);
      state.catch(() => this.seen.delete(institutionId));
    }
    return state;
  }

  /** States read for the whole batch beforehand (with its notices' other lookups), so none is read again. */
  public prime(states: ReadonlyMap<string, TransportState>): void {
    for (const [institutionId, state] of states) this.remember(institutionId, state);
  }

  private remember(institutionId: string, state: TransportState): void {
    this.seen.set(institutionId, Promise.resolve(state));
  }

  /**
   * Held notices come back spread over the intake's spread, so a night's batch does not all ring at the
   * probe's second; the first of them after the probe time is the probe.
   */
  private spread(until: Date): Date {
    return addSeconds(until, this.deps.random() * this.deps.settings.spreadSeconds);
  }

  /** Whether the institution's sending is paused, as this batch last saw it. */
  public async paused(institutionId: string): Promise<boolean> {
    try {
      return (await this.state(institutionId)).pause !== undefined;
    } catch {
      // Not known: a held notice keeps the time it was given.
      return true;
    }
  }

  /** Whether `notice` may be sent now. While the institution is paused, only the probe is. */
  public async clear(institution: InstitutionConfig, notice: Notice): Promise<Clearance> {
    const seen = (await this.state(institution.id)).pause;
    if (!seen) return { kind: 'send' };
    const now = this.deps.clock.now();
    // Before its probe time a pause can only last or grow: holding on what this batch saw needs no read.
    if (now < new Date(seen.nextProbeAt)) return { kind: 'hold', until: this.spread(new Date(seen.nextProbeAt)), reason: holdReason(seen), code: seen.code };
    const token = this.deps.newId();
    const { state, result } = await changeState(this.deps.transportStates, institution.id, (fresh) => {
      const decision = gate(fresh, now, { token, leaseSeconds: this.deps.settings.leaseSeconds });
      return { change: decision.kind === 'probe' ? decision.change : undefined, result: { decision, code: fresh.pause?.code } };
    });
    this.remember(institution.id, state);
    const { decision, code } = result;
    if (decision.kind === 'send') return { kind: 'send' };
    if (decision.kind === 'probe') {
      this.deps.log.info('transport probe', { institution: institution.id, noticeId: notice.id, code });
      return { kind: 'send', probeToken: token };
    }
    return { kind: 'hold', until: this.spread(decision.until), reason: decision.reason, code: code ?? 'EUNKNOWN' };
  }

  /** Gives the probe back: its notice was not sent after all (a rate limit held it). */
  public async release(institution: InstitutionConfig, probeToken: string): Promise<void> {
    try {
      const { state } = await changeState(this.deps.transportStates, institution.id, (fresh) => ({ change: releaseProbe(fresh, probeToken), result: undefined }));
      this.remember(institution.id, state);
    } catch (error) {
      // The lock lapses with the lease; a later notice probes then.
      this.deps.log.warn('transport probe not released', { institution: institution.id, code: errorCode(error) });
    }
  }

  /**
   * What the attempt's outcome does to the institution's sending, and so to the notice: a refusal of the
   * institution's setup (or one refusal too many of the same, EREPEATED) holds the notice until the next
   * probe instead of failing or counting against it.
   */
  public async settle(institution: InstitutionConfig, notice: Notice, result: AttemptResult, probeToken?: string): Promise<AttemptResult> {
    const outcome: AttemptOutcome = { error: result.ok ? undefined : result.error, recipientKey: recipientKey(notice.to), probeToken, noticeId: notice.id };
    if (!needsRecording(await this.state(institution.id).catch(() => ({ version: 0 })), outcome)) return result;
    const now = this.deps.clock.now();
    let verdict: Verdict;
    try {
      const changed = await changeState(this.deps.transportStates, institution.id, (fresh) => {
        const decided = afterAttempt(fresh, outcome, now, pauseTiming(this.deps.settings.retry));
        return { change: decided.change, result: { decided, before: fresh } };
      });
      this.remember(institution.id, changed.state);
      verdict = changed.result.decided;
      this.tell(institution, notice, result, verdict, changed.result.before);
    } catch (error) {
      // The notice's own record comes first. Without the shared state, a refusal of the setup still holds it.
      this.deps.log.warn('transport state not updated', { institution: institution.id, noticeId: notice.id, code: errorCode(error) });
      if (result.ok || result.error.scope !== 'institution') return result;
      return { ...result, heldUntil: this.spread(addSeconds(now, Math.max(1, this.deps.settings.retry.shortDelaySeconds[0]))) };
    }
    if (result.ok) return result;
    const error = verdict.escalated
      ? deliveryFailure('EREPEATED', `${result.error.message} (the same refusal for several different patrons in a row: taken for a refusal of the institution's setup)`, result.error.facts, result.error)
      : result.error;
    return { ...result, error, ...(verdict.heldUntil ? { heldUntil: this.spread(verdict.heldUntil) } : {}) };
  }

  /** One log line per change of the institution's sending. */
  private tell(institution: InstitutionConfig, notice: Notice, result: AttemptResult, verdict: Verdict, before: TransportState): void {
    const { log } = this.deps;
    const facts = result.ok ? undefined : result.error.facts;
    const attributes = {
      institution: institution.id,
      noticeId: notice.id,
      code: verdict.pause?.code,
      server: facts?.server,
      responseCode: facts?.responseCode,
      enhancedStatus: facts?.enhancedStatus,
      nextProbeAt: verdict.pause?.nextProbeAt,
    };
    switch (verdict.event) {
      case 'paused':
        if (outcomeOf(verdict.pause?.code).pause === 'probe') log.error(TRANSPORT_PAUSED_LOG, attributes);
        else log.warn(TRANSPORT_SLOWED_LOG, attributes);
        return;
      case 'cause-changed':
        log.error(TRANSPORT_PAUSED_LOG, { ...attributes, previousCode: before.pause?.code });
        return;
      case 'probe-failed':
        log.info('transport probe failed', { ...attributes, probes: verdict.pause?.probes });
        return;
      case 'resumed':
        log.info(TRANSPORT_RESUMED_LOG, { institution: institution.id, noticeId: notice.id, code: before.pause?.code, pausedSince: before.pause?.since });
        return;
      default:
    }
  }
}
