// Signing in to the console with a staff key (docs/staff/console.md). Wrong keys are counted per
// source address and per institution in fixed windows; while either count is full, every attempt from
// there is refused, a right key too, so guessing gains nothing by going on. Only failures count: staff
// signing in do not use up the institution's allowance.
import { createHash } from 'node:crypto';
import { type Clock, toEpochSeconds } from '../clock';
import type { InstitutionConfig } from '../config/schema';
import { RateLimitedError, UnauthorizedError } from '../errors';
import type { Log } from '../log';
import { type ConsoleSession, openSession, type SessionDeps } from './sessions';
import type { StaffKeys } from './staff-keys';

/** Failed sign-ins counted per key of the window that starts at `windowStart` (epoch seconds). */
export interface FailureCounter {
  read(keys: string[], windowStart: number): Promise<number[]>;
  add(keys: string[], windowStart: number, expireAt: number): Promise<void>;
}

export const SIGN_IN_WINDOW_SECONDS = 15 * 60;
/** Wrong keys one address may try in a window: a person mistyping never gets near it. */
export const FAILURES_PER_SOURCE = 10;
/** Wrong keys tried against one institution in a window, from anywhere. */
export const FAILURES_PER_INSTITUTION = 50;

export interface SignInDeps extends SessionDeps {
  staffKeys: StaffKeys;
  signInFailures: FailureCounter;
  clock: Clock;
  log: Log;
}

export interface SignInAttempt {
  institutionId: string;
  key: string;
  /** Where the request came from (API Gateway's source IP); only its digest is stored. */
  source: string;
}

/** The counters of an attempt: its source's (a digest) and its institution's (all unknown ids share one). */
const counterKeys = (attempt: SignInAttempt, institution: string) => [
  `console-signin#source#${createHash('sha256').update(attempt.source, 'utf8').digest('hex')}`,
  `console-signin#institution#${institution}`,
];

/**
 * Signs staff in: a session for the institution whose staff key this is.
 * @throws RateLimitedError while too many wrong keys came from this address or for this institution.
 * @throws UnauthorizedError when the key is not one of the institution's staff keys.
 * @example
 * const { token, session } = await signIn(deps, { institutionId: 'demo', key, source: event.requestContext.identity.sourceIp });
 */
export const signIn = async (deps: SignInDeps, attempt: SignInAttempt): Promise<{ token: string; session: ConsoleSession; institution: InstitutionConfig }> => {
  const now = toEpochSeconds(deps.clock.now());
  const windowStart = now - (now % SIGN_IN_WINDOW_SECONDS);
  const retryAfterSeconds = Math.max(1, windowStart + SIGN_IN_WINDOW_SECONDS - now);
  // What someone typed as the library ID may be anything (an email address): only a real id is logged or stored.
  const institutionId = deps.staffKeys.knows(attempt.institutionId) ? attempt.institutionId : '(unknown)';
  const keys = counterKeys(attempt, institutionId);
  const [bySource = 0, byInstitution = 0] = await deps.signInFailures.read(keys, windowStart);
  if (bySource >= FAILURES_PER_SOURCE || byInstitution >= FAILURES_PER_INSTITUTION) {
    deps.log.warn('console sign-in refused: too many wrong keys', { institution: institutionId, bySource, byInstitution });
    throw new RateLimitedError(`Too many wrong keys were tried. Wait ${Math.ceil(retryAfterSeconds / 60)} minutes, then try again.`, retryAfterSeconds);
  }
  const institution = deps.staffKeys.authenticate(attempt.institutionId, attempt.key);
  if (!institution) {
    await deps.signInFailures.add(keys, windowStart, windowStart + 2 * SIGN_IN_WINDOW_SECONDS);
    deps.log.warn('console sign-in refused: wrong key', { institution: institutionId });
    throw new UnauthorizedError('That library ID and staff key do not match.');
  }
  const opened = await openSession(deps, institution);
  deps.log.info('console sign-in', { institution: institution.id });
  return { ...opened, institution };
};
