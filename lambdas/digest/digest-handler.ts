// EventBridge scheduled event → daily digests (shared) → counts
import type { ScheduledEvent } from 'aws-lambda';
import { type DigestDeps, type DigestResult, runDigests } from '../../shared/digest/run';

/**
 * Makes the digest handler. Runs every 15 minutes; a run makes the digests whose time of day has come and
 * that do not exist yet, so an overlapping or repeated run is safe.
 * @example
 * export const handler = makeDigestHandler(createDigestDeps(process.env));
 */
export const makeDigestHandler =
  (deps: DigestDeps) =>
  async (_event?: ScheduledEvent): Promise<DigestResult> =>
    runDigests(deps);
