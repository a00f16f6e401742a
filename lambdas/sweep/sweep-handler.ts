// EventBridge scheduled event → sweep (shared) → counts
import type { ScheduledEvent } from 'aws-lambda';
import { sweep, type SweepDeps, type SweepResult } from '../../shared/delivery/sweep';

/**
 * Makes the sweep handler. Runs every minute; an overlapping run is safe.
 * @example
 * export const handler = makeSweepHandler(createSweepDeps(process.env));
 */
export const makeSweepHandler =
  (deps: SweepDeps) =>
  async (_event?: ScheduledEvent): Promise<SweepResult> =>
    sweep(deps);
