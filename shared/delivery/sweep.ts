// The sweep (docs/contributing/notice-flow.md): finds, from the sparse due index only, the notices whose sweepAt has come,
// and for each rings its lost or long-delayed doorbell, releases its expired lease, discards it at its
// give-up time, finishes its report, or relays the webhook events a stopped process left in its outbox. Every change is a compare-and-set, so overlapping sweeps are safe.
// Then, per institution, it tells of a stall and rings the notices held for a pause that ended before its probe time (./held.ts).
import type { Doorbell } from '../lifecycle/plan';
import { type SweepAction, sweepAction } from '../lifecycle/transitions';
import type { CoreDeps } from '../core-deps';
import type { InstitutionConfig } from '../config/schema';
import { errorCode, UnavailableError } from '../errors';
import { REPORT_UNDELIVERED_LOG, TRANSPORT_STALL_GAUGE_LOG, TRANSPORT_STALL_OVER_LOG, TRANSPORT_STALLED_LOG } from '../log';
import type { Notice } from '../notice/model';
import { outcomeOf } from '../transport/classify';
import { checkStall } from '../transport/pause';
import { changeState, type Resumption, type TransportState, type TransportStates } from '../transport/records';
import { applyPlan, lifecycleContext } from './plan';
import { relayOutbox } from '../webhooks/relay';
import { createReport } from './report';
import { ringHeldNotices } from './held';

/** Doorbells SQS takes in one SendMessageBatch. */
const SQS_BATCH = 10;

export interface SweepDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
  /** The institutions' transport states, for the stall alert. */
  transportStates: TransportStates;
  /** alerts.stalledAfterMinutes. */
  stalledAfterMinutes: number;
}

export interface SweepResult {
  /** Notices read (from the index, then by key). */
  examined: number;
  rung: number;
  discarded: number;
  leasesReleased: number;
  reportsCreated: number;
  /** Notices whose webhook events a stopped process left in their outbox. */
  eventsRelayed: number;
  /** Changed by another actor between our read and our write. */
  raced: number;
}

export interface SweepOptions {
  /** Notices taken per round. */
  batchSize?: number;
  /** Rounds at most in one run; the next run carries on. */
  maxRounds?: number;
}

/**
 * Runs one sweep.
 * @example
 * const result = await sweep(deps);   // every minute, from EventBridge
 */
export const sweep = async (deps: SweepDeps, options: SweepOptions = {}): Promise<SweepResult> => {
  const batchSize = options.batchSize ?? 500;
  const maxRounds = options.maxRounds ?? 10;
  const result: SweepResult = { examined: 0, rung: 0, discarded: 0, leasesReleased: 0, reportsCreated: 0, eventsRelayed: 0, raced: 0 };
  const ctx = lifecycleContext(deps);
  // A change is committed before its doorbell rings: ring them as they come, a queue batch at a time, so
  // that neither a notice that fails nor a run cut off by its timeout leaves the others marked rung but silent.
  const doorbells: Doorbell[] = [];
  const ring = async () => {
    if (doorbells.length === 0) return;
    const batch = doorbells.splice(0);
    result.rung += batch.length;
    const unrung = await deps.queue.ring(batch);
    if (unrung.length) deps.log.warn('doorbells not rung; the next sweep rings them', { count: unrung.length });
  };
  let failed = 0;
  for (let round = 0; round < maxRounds; round++) {
    const now = deps.clock.now();
    const ids = await deps.store.findDue(now, batchSize);
    if (ids.length === 0) break;
    const notices = await deps.store.getNotices(ids);
    result.examined += ids.length;
    let acted = 0;
    const failedBefore = failed;
    for (const notice of notices.values()) {
      const action = sweepAction(notice, now, ctx);
      if (action.kind === 'none') continue;
      acted++;
      try {
        await handle(deps, notice, action, doorbells, result);
      } catch (error) {
        // One notice the store would not take (throttled, say) stops neither the others nor their doorbells.
        failed++;
        deps.log.error('sweep could not handle a notice; the next sweep tries again', { noticeId: notice.id, code: errorCode(error) });
      }
      if (doorbells.length >= SQS_BATCH) await ring();
    }
    await ring();
    // Nothing changed this round (the index lagged behind the table), or the store is refusing: the next run will see.
    if (acted === 0 || ids.length < batchSize || failed > failedBefore) break;
  }
  if (result.rung || result.discarded || result.leasesReleased || result.reportsCreated || result.eventsRelayed || result.raced) deps.log.info('sweep done', { ...result });
  await watchTransports(deps);
  // The run fails, for the alarm on the sweep's errors, once what it could do is done.
  if (failed > 0) throw new UnavailableError(`the sweep could not handle ${failed} notice(s); the next sweep tries them again`);
  return result;
};

/** One notice's sweep action, counted in `result`. */
const handle = async (deps: SweepDeps, notice: Notice, action: Exclude<SweepAction, { kind: 'none' }>, doorbells: Doorbell[], result: SweepResult) => {
  const before = notice.status;
  if (action.kind === 'create-report') {
    await createReport(deps, notice, doorbells);
    result.reportsCreated++;
    return;
  }
  if (action.kind === 'relay-events') {
    await relayOutbox(deps, notice);
    result.eventsRelayed++;
    return;
  }
  const updated = await applyPlan(deps, action.plan, doorbells);
  if (!updated) {
    result.raced++;
    return;
  }
  if (updated.status === 'discarded' && before !== 'discarded') {
    result.discarded++;
    if (notice.kind === 'report') deps.log.error(REPORT_UNDELIVERED_LOG, { noticeId: notice.id, reportFor: notice.reportFor });
  }
  else if (before === 'sending' && updated.status !== 'sending') result.leasesReleased++;
  if (action.plan.reportOwed) result.reportsCreated++;
};

/**
 * Each institution's transport state, read once a run: a stall to tell of, and held notices to ring now
 * that sending resumed.
 */
const watchTransports = async (deps: SweepDeps): Promise<void> => {
  for (const institution of deps.institutions.values()) {
    const state = await tellStall(deps, institution);
    if (state?.resumed) await ringResumed(deps, institution, state.resumed);
  }
};

/**
 * Sending resumed before the probe the held notices were given the time of: rings them now, then takes
 * the resumption off the state (unless a later one came meanwhile, which the next run rings).
 */
const ringResumed = async (deps: SweepDeps, institution: InstitutionConfig, resumed: Resumption): Promise<void> => {
  try {
    const rung = await ringHeldNotices(deps, institution.id, resumed);
    deps.log.info('held notices rung', { institution: institution.id, count: rung, resumedAt: resumed.at });
    await changeState(deps.transportStates, institution.id, (fresh) => ({ change: fresh.resumed?.at === resumed.at ? { remove: ['resumed'] } : undefined, result: undefined }));
  } catch (error) {
    // The held notices keep their own time meanwhile; the next run tries again.
    deps.log.warn('held notices not rung', { institution: institution.id, code: errorCode(error) });
  }
};

/**
 * Tells of an institution whose notices have waited for alerts.stalledAfterMinutes with none getting through,
 * by a path that needs no transport: an ERROR line once when the stall begins, an INFO line once when it
 * ends (each written by the sweep whose compare-and-set recorded the change), and, every run while it
 * lasts, the line the stack's per-institution alarm counts (infra/cdk: TransportStalled). Returns the
 * state as it left it; undefined when it could not be read or written.
 */
const tellStall = async (deps: SweepDeps, institution: InstitutionConfig): Promise<TransportState | undefined> => {
  const { transportStates, stalledAfterMinutes } = deps;
  const now = deps.clock.now();
  try {
    const { state, result: verdict } = await changeState(transportStates, institution.id, (fresh) => {
      const decided = checkStall(fresh, now, stalledAfterMinutes);
      return { change: decided.change, result: decided };
    });
    const cause = state.pause?.code;
    const attributes = { institution: institution.id, code: cause, summary: cause ? outcomeOf(cause).summary : undefined };
    if (verdict.event === 'stalled') {
      deps.log.error(TRANSPORT_STALLED_LOG, { ...attributes, since: verdict.stalledSince?.toISOString(), minutes: stalledAfterMinutes });
    } else if (verdict.event === 'recovered') {
      deps.log.info(TRANSPORT_STALL_OVER_LOG, { institution: institution.id });
    }
    if (verdict.stalledSince) deps.log.info(TRANSPORT_STALL_GAUGE_LOG, { institution: institution.id, stalled: 1, since: verdict.stalledSince.toISOString() });
    return state;
  } catch (error) {
    // The notices came first; the next run looks again.
    deps.log.warn('stall not checked', { institution: institution.id, code: errorCode(error) });
    return undefined;
  }
};
