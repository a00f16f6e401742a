// The sweep (README: How delivery works): finds, from the sparse due index only, the notices whose sweepAt has come,
// and for each rings its lost or long-delayed doorbell, releases its expired lease, discards it at its
// give-up time, or finishes its report. Every change is a compare-and-set, so overlapping sweeps are safe.
import type { Doorbell } from '../lifecycle/transitions';
import { sweepAction } from '../lifecycle/transitions';
import type { CoreDeps } from '../core-deps';
import type { InstitutionConfig } from '../config/schema';
import { applyPlan, lifecycleContext } from './plan';
import { createReport } from './report';

export interface SweepDeps extends CoreDeps {
  institutions: ReadonlyMap<string, InstitutionConfig>;
}

export interface SweepResult {
  /** Notices read (from the index, then by key). */
  examined: number;
  rung: number;
  discarded: number;
  leasesReleased: number;
  reportsCreated: number;
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
  const result: SweepResult = { examined: 0, rung: 0, discarded: 0, leasesReleased: 0, reportsCreated: 0, raced: 0 };
  const ctx = lifecycleContext(deps);
  for (let round = 0; round < maxRounds; round++) {
    const now = deps.clock.now();
    const ids = await deps.store.findDue(now, batchSize);
    if (ids.length === 0) break;
    const notices = await deps.store.getNotices(ids);
    result.examined += ids.length;
    const doorbells: Doorbell[] = [];
    let acted = 0;
    for (const notice of notices.values()) {
      const action = sweepAction(notice, now, ctx);
      if (action.kind === 'none') continue;
      acted++;
      if (action.kind === 'create-report') {
        await createReport(deps, notice, doorbells);
        result.reportsCreated++;
        continue;
      }
      const before = notice.status;
      const updated = await applyPlan(deps, action.plan, doorbells);
      if (!updated) {
        result.raced++;
        continue;
      }
      if (updated.status === 'discarded' && before !== 'discarded') result.discarded++;
      else if (before === 'sending' && updated.status !== 'sending') result.leasesReleased++;
      if (action.plan.reportOwed) result.reportsCreated++;
    }
    result.rung += doorbells.length;
    if (doorbells.length) {
      const unrung = await deps.queue.ring(doorbells);
      if (unrung.length) deps.log.warn('doorbells not rung; the next sweep rings them', { count: unrung.length });
    }
    // Nothing changed this round (the index lagged behind the table): the next run will see it right.
    if (acted === 0 || ids.length < batchSize) break;
  }
  if (result.rung || result.discarded || result.leasesReleased || result.reportsCreated || result.raced) deps.log.info('sweep done', { ...result });
  return result;
};
