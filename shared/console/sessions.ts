// Console sessions (docs/staff/console.md). A session is an item in the store, found by the digest
// of the cookie's random token: signing out deletes it at once, and the store never holds a token that
// would sign anyone in. Each session has its own CSRF token, which every form that changes something
// carries back.
import { createHash, timingSafeEqual } from 'node:crypto';
import { addSeconds, type Clock } from '../clock';
import type { InstitutionConfig } from '../config/schema';

/** How long a session lasts from sign-in: a working day, after which staff sign in again. */
export const SESSION_SECONDS = 8 * 3600;

export interface ConsoleSession {
  /** The SHA-256 digest of the cookie's token, in hex. */
  id: string;
  institutionId: string;
  /** Sent back in every form that changes something (synchroniser token). */
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
}

export interface SessionStore {
  put(session: ConsoleSession): Promise<void>;
  get(id: string): Promise<ConsoleSession | undefined>;
  delete(id: string): Promise<void>;
}

/** A new random token (cookie values, CSRF tokens), at least 128 bits, URL-safe. */
export type TokenSource = () => string;

export interface SessionDeps {
  sessions: SessionStore;
  clock: Clock;
  newToken: TokenSource;
}

const TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

const digestOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Opens a session for staff of `institution`: the token goes into the cookie, the session into the store.
 * @example
 * const { token, session } = await openSession(deps, institution);
 */
export const openSession = async (deps: SessionDeps, institution: InstitutionConfig): Promise<{ token: string; session: ConsoleSession }> => {
  const now = deps.clock.now();
  const token = deps.newToken();
  const session: ConsoleSession = {
    id: digestOf(token),
    institutionId: institution.id,
    csrfToken: deps.newToken(),
    createdAt: now.toISOString(),
    expiresAt: addSeconds(now, SESSION_SECONDS).toISOString(),
  };
  await deps.sessions.put(session);
  return { token, session };
};

/** The live session a cookie's token names, or undefined (no such session, or it has expired). */
export const sessionFor = async (deps: Pick<SessionDeps, 'sessions' | 'clock'>, token: string | undefined): Promise<ConsoleSession | undefined> => {
  if (!token || !TOKEN.test(token)) return undefined;
  const session = await deps.sessions.get(digestOf(token));
  // The store's TTL removes an expired session within a day or two, not at the second: the time decides.
  if (!session || new Date(session.expiresAt) <= deps.clock.now()) return undefined;
  return session;
};

/** Ends the session a cookie's token names, at once. */
export const closeSession = async (deps: Pick<SessionDeps, 'sessions'>, token: string | undefined): Promise<void> => {
  if (token && TOKEN.test(token)) await deps.sessions.delete(digestOf(token));
};

/** Whether two tokens are the same, compared in constant time (a CSRF token against the one expected). */
export const sameToken = (expected: string, presented: string | undefined): boolean => {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b) && expected.length > 0;
};
