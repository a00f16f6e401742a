import { sameToken, type ConsoleSession, type SessionStore, sessionFor, closeSession, SESSION_SECONDS } from '../../../../shared/console/sessions';
import { FAILURES_PER_INSTITUTION, FAILURES_PER_SOURCE, type FailureCounter, signIn, type SignInDeps } from '../../../../shared/console/sign-in';
import { StaffKeys } from '../../../../shared/console/staff-keys';
import { RateLimitedError, UnauthorizedError } from '../../../../shared/errors';
import { silentLog } from '../../../../shared/log';
import { aConfigInput } from '../../../support/factories';
import { parseConfig } from '../../../../shared/config/load';
import { hashApiKey } from '../../../../shared/config/key-digest';

const STAFF_KEY = 'demo-staff-key-0123456789';

/** In-memory stand-ins for the table's items, as the DynamoDB ones behave. */
const memorySessions = (): SessionStore & { items: Map<string, ConsoleSession> } => {
  const items = new Map<string, ConsoleSession>();
  return { items, put: async (s) => void items.set(s.id, s), get: async (id) => items.get(id), delete: async (id) => void items.delete(id) };
};
const memoryFailures = (): FailureCounter => {
  const counts = new Map<string, number>();
  return {
    read: async (keys, window) => keys.map((key) => counts.get(`${key}#${window}`) ?? 0),
    add: async (keys, window) => keys.forEach((key) => counts.set(`${key}#${window}`, (counts.get(`${key}#${window}`) ?? 0) + 1)),
  };
};

const config = () => {
  const input = aConfigInput();
  input.institutions[0] = { ...input.institutions[0]!, consoleKeys: [STAFF_KEY] };
  input.institutions[1] = { ...input.institutions[1]!, consoleKeyHashes: [hashApiKey('branch-staff-key-0123456789')] };
  return parseConfig(input);
};

const deps = (now = new Date('2030-01-01T08:00:00Z')): SignInDeps & { sessions: ReturnType<typeof memorySessions>; clock: { now(): Date; set(d: Date): void } } => {
  let time = now;
  let n = 0;
  return {
    sessions: memorySessions(),
    signInFailures: memoryFailures(),
    staffKeys: new StaffKeys(config().institutions),
    clock: { now: () => time, set: (d: Date) => (time = d) },
    newToken: () => `token-${String(n++).padStart(24, '0')}`,
    log: silentLog,
  };
};

describe('Function: signIn', () => {
  it('opens a session for the institution whose staff key it is, kept only as a digest, for a working day', async () => {
    // Prepare
    const d = deps();
    // Act
    const { token, session, institution } = await signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.1' });
    // Assess
    expect(institution.id).toBe('demo');
    expect(session).toMatchObject({ institutionId: 'demo', expiresAt: new Date(Date.parse('2030-01-01T08:00:00Z') + SESSION_SECONDS * 1000).toISOString() });
    expect([...d.sessions.items.keys()]).toEqual([session.id]);
    expect(session.id).not.toContain(token);
    expect(await sessionFor(d, token)).toEqual(session);
  });

  it.each([
    ['a wrong key', 'demo', 'not-the-key-0123456789'],
    ["another library's key", 'demo', 'branch-staff-key-0123456789'],
    ['an API key', 'demo', aConfigInput().institutions[0]!.apiKeys![0]!],
    ['an unknown library', 'nowhere', STAFF_KEY],
  ])('refuses %s', async (_what, institutionId, key) => {
    await expect(signIn(deps(), { institutionId, key, source: '192.0.2.1' })).rejects.toThrow(UnauthorizedError);
  });

  it('refuses every attempt from an address that tried too many wrong keys, the right key too, until the window ends', async () => {
    // Prepare
    const d = deps();
    for (let i = 0; i < FAILURES_PER_SOURCE; i++) await expect(signIn(d, { institutionId: 'demo', key: `wrong-${i}-0123456789`, source: '192.0.2.1' })).rejects.toThrow(UnauthorizedError);
    // Act
    const limited = signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.1' });
    const otherSource = signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.2' });
    // Assess
    await expect(limited).rejects.toThrow(RateLimitedError);
    await expect(limited).rejects.toMatchObject({ retryAfterSeconds: 900 });
    await expect(otherSource).resolves.toMatchObject({ institution: { id: 'demo' } });
    d.clock.set(new Date('2030-01-01T08:15:00Z'));
    await expect(signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.1' })).resolves.toMatchObject({ institution: { id: 'demo' } });
  });

  it('refuses every attempt for an institution many addresses tried wrong keys against', async () => {
    // Prepare
    const d = deps();
    for (let i = 0; i < FAILURES_PER_INSTITUTION; i++) await signIn(d, { institutionId: 'demo', key: 'wrong-key-0123456789', source: `198.51.100.${i}` }).catch(() => undefined);
    // Act
    const limited = signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '203.0.113.9' });
    // Assess
    await expect(limited).rejects.toThrow(RateLimitedError);
    await expect(signIn(d, { institutionId: 'branch', key: 'branch-staff-key-0123456789', source: '203.0.113.9' })).resolves.toMatchObject({ institution: { id: 'branch' } });
  });

  it('ends a session at its expiry, and at sign-out at once', async () => {
    // Prepare
    const d = deps();
    const first = await signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.1' });
    const second = await signIn(d, { institutionId: 'demo', key: STAFF_KEY, source: '192.0.2.1' });
    // Act
    await closeSession(d, second.token);
    d.clock.set(new Date(Date.parse(first.session.expiresAt)));
    // Assess
    expect(await sessionFor(d, first.token)).toBeUndefined();
    expect(d.sessions.items.has(second.session.id)).toBe(false);
    expect(await sessionFor(d, 'not a token')).toBeUndefined();
  });
});

describe('Function: sameToken', () => {
  it('matches equal tokens only', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', undefined)).toBe(false);
    expect(sameToken('', '')).toBe(false);
  });
});
