// The contracts of the store's ports, as tests any implementation must pass: the DynamoDB adapters
// against dynalite (test/integration/store.test.ts) and the in-memory fakes the handler tests use
// (test/unit/support/fakes.test.ts), so a fake cannot drift from what the real store does.
import { InvalidCursorError, StaleNoticeError } from '../../shared/errors';
import { newNotice, takeLease } from '../../shared/lifecycle/transitions';
import type { IdempotencyRequest, IdempotencyStore } from '../../shared/store/idempotency-store';
import type { ListPage, NoticeStore } from '../../shared/store/notice-store';
import type { Pause, TransportStates } from '../../shared/transport/records';
import { aNoticeInput, settingsOf } from './factories';

const settings = settingsOf();
let sequence = 0;

/** Ids that sort by creation, like ULIDs: a fixed prefix and a counter. */
const nextId = () => `01JC${String(sequence++).padStart(22, '0')}`;

const make = (overrides: Parameters<typeof aNoticeInput>[0] = {}, institutionId = 'demo', now = new Date('2030-01-01T00:00:00Z')) =>
  newNotice(aNoticeInput(overrides), { id: nextId(), institutionId, now, random: () => 0, settings }).record;

/**
 * The NoticeStore contract. `store` answers the store under test once its suite's beforeAll has run;
 * the tests share it, each with notices and institutions of its own.
 */
export const noticeStoreContract = (store: () => NoticeStore): void => {
  it('finds the notices whose sweepAt has come, and forgets one once its sweepAt is removed', async () => {
    // Prepare
    const due = Array.from({ length: 3 }, () => make());
    const later = make({ sendAt: '2030-02-01T00:00:00Z' });
    await store().createNotices([...due, later]);
    // Act
    const found = await store().findDue(new Date('2030-01-01T01:00:00Z'), 5000);
    await store().apply({ id: due[0]!.notice.id, expectVersion: 1, set: { status: 'cancelled' }, remove: ['sweepAt'] });
    const afterRemoval = await store().findDue(new Date('2030-01-01T01:00:00Z'), 5000);
    // Assess
    expect(found).toEqual(expect.arrayContaining(due.map((r) => r.notice.id)));
    expect(found).not.toContain(later.notice.id);
    expect(afterRemoval).toEqual(expect.arrayContaining([due[1]!.notice.id, due[2]!.notice.id]));
    expect(afterRemoval).not.toContain(due[0]!.notice.id);
  });

  it('stores a notice\'s state and content and reads them back', async () => {
    // Prepare
    const record = make({ attachments: [{ filename: 'fine.pdf', contentType: 'application/pdf', contentBase64: 'JVBERi0xLjQK' }] });
    // Act
    await store().createNotices([record]);
    const delivery = await store().getForDelivery([record.notice.id]);
    // Assess
    expect(await store().getNotice(record.notice.id)).toEqual(record.notice);
    expect(delivery.get(record.notice.id)).toEqual({ notice: record.notice, content: record.content });
  });

  it('writes a batch of 500 notices in one call', async () => {
    // Prepare
    const records = Array.from({ length: 500 }, (_, i) => make({ externalId: `bulk-${i}` }, 'bulk'));
    // Act
    await store().createNotices(records);
    // Assess
    const found = await store().existingIds(records.map((r) => r.notice.id));
    expect(found.size).toBe(500);
  });

  it('applies a transition only on the version it was planned from', async () => {
    // Prepare
    const record = make();
    await store().createNotices([record]);
    const transition = takeLease(record.notice, new Date('2030-01-01T00:00:30Z'), 'token', settings);
    // Act
    const leased = await store().apply(transition);
    const second = store().apply(transition);
    // Assess
    expect(leased).toMatchObject({ status: 'sending', version: 2, leaseToken: 'token' });
    expect(leased.nextAttemptAt).toBeUndefined();
    await expect(second).rejects.toThrow(StaleNoticeError);
  });

  it('appends history and counts attempts', async () => {
    // Prepare
    const record = make();
    await store().createNotices([record]);
    // Act
    const after = await store().apply({
      id: record.notice.id,
      expectVersion: 1,
      set: { status: 'retrying' },
      remove: [],
      append: [{ at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', responseCode: 451 }],
      countAttempt: true,
    });
    // Assess
    expect(after.attempts).toEqual([{ at: '2030-01-01T00:01:00.000Z', outcome: 'transient', status: 'retrying', responseCode: 451 }]);
    expect(after.attemptCount).toBe(1);
  });

  it('lists newest first, filters, and pages with an opaque cursor', async () => {
    // Prepare
    const institution = 'lister';
    const records = Array.from({ length: 7 }, (_, i) => make({ type: i % 2 ? 'overdue' : 'hold-pickup', externalId: `loan-${i}` }, institution, new Date(Date.UTC(2030, 0, 1, 0, i))));
    await store().createNotices(records);
    // Act
    const first = await store().listNotices(institution, { limit: 3 });
    const second = await store().listNotices(institution, { limit: 3, cursor: first.cursor });
    const third = await store().listNotices(institution, { limit: 3, cursor: second.cursor });
    const exactlyFull = await store().listNotices(institution, { limit: 7 });
    const exactlyFullFiltered = await store().listNotices(institution, { limit: 3, type: 'overdue' });
    const overdue = await store().listNotices(institution, { limit: 10, type: 'overdue' });
    const byExternalId = await store().listNotices(institution, { limit: 10, externalId: 'loan-4' });
    const since = await store().listNotices(institution, { limit: 10, since: '2030-01-01T00:05:00.000Z' });
    // A reconciliation job that moves `since` on between pages: the cursor is past the new range.
    const sinceMovedOn = await store().listNotices(institution, { limit: 3, cursor: second.cursor, since: '2030-01-01T00:03:00.000Z' });
    // Assess
    const newestFirst = [...records].reverse().map((r) => r.notice.id);
    expect([...first.notices, ...second.notices, ...third.notices].map((n) => n.id)).toEqual(newestFirst);
    expect(third.cursor).toBeUndefined();
    // A last page that is exactly full has no cursor either: there is nothing after it.
    expect([exactlyFull.notices.length, exactlyFull.cursor]).toEqual([7, undefined]);
    expect([exactlyFullFiltered.notices.length, exactlyFullFiltered.cursor]).toEqual([3, undefined]);
    expect([first.cursor, second.cursor]).toEqual([expect.any(String), expect.any(String)]);
    expect(overdue.notices.map((n) => n.externalId)).toEqual(['loan-5', 'loan-3', 'loan-1']);
    expect(byExternalId.notices.map((n) => n.externalId)).toEqual(['loan-4']);
    expect(sinceMovedOn).toEqual({ notices: [] });
    expect(since.notices.map((n) => n.externalId)).toEqual(['loan-6', 'loan-5']);
    expect((await store().listNotices('nobody', { limit: 10 })).notices).toEqual([]);
  });

  it('lists only the notices whose status is one of those asked for', async () => {
    // Prepare: a queued, a cancelled and a retrying notice of one institution, oldest first
    const institution = 'status-lister';
    const [queued, cancelled, retrying] = [0, 1, 2].map((i) => make({ externalId: `status-${i}` }, institution, new Date(Date.UTC(2030, 0, 1, 0, i)))) as [
      ReturnType<typeof make>,
      ReturnType<typeof make>,
      ReturnType<typeof make>,
    ];
    await store().createNotices([queued, cancelled, retrying]);
    await store().apply({ id: cancelled.notice.id, expectVersion: 1, set: { status: 'cancelled' }, remove: ['sweepAt'] });
    await store().apply({ id: retrying.notice.id, expectVersion: 1, set: { status: 'retrying' }, remove: [] });
    const idsOf = (page: ListPage) => page.notices.map((n) => n.id);
    // Act
    const onlyQueued = await store().listNotices(institution, { limit: 10, status: ['queued'] });
    const onlyCancelled = await store().listNotices(institution, { limit: 10, status: ['cancelled'] });
    const queuedOrCancelled = await store().listNotices(institution, { limit: 10, status: ['queued', 'cancelled'] });
    const noneSent = await store().listNotices(institution, { limit: 10, status: ['sent'] });
    // Assess
    expect(idsOf(onlyQueued)).toEqual([queued.notice.id]);
    expect(idsOf(onlyCancelled)).toEqual([cancelled.notice.id]);
    expect(idsOf(queuedOrCancelled)).toEqual([cancelled.notice.id, queued.notice.id]);
    expect(noneSent).toEqual({ notices: [] });
  });

  it('bounds a listing by creation time on both sides', async () => {
    // Prepare: one notice a day for five days
    const institution = 'dated';
    const records = Array.from({ length: 5 }, (_, i) => make({ externalId: `day-${i + 1}` }, institution, new Date(Date.UTC(2030, 0, i + 1, 12))));
    await store().createNotices(records);
    const externalIds = (page: { notices: Array<{ externalId?: string }> }) => page.notices.map((n) => n.externalId);
    // Act
    const between = await store().listNotices(institution, { limit: 10, since: '2030-01-02T00:00:00.000Z', before: '2030-01-04T00:00:00.000Z' });
    const before = await store().listNotices(institution, { limit: 10, before: '2030-01-03T00:00:00.000Z' });
    const pagedFirst = await store().listNotices(institution, { limit: 1, before: '2030-01-05T00:00:00.000Z' });
    const pagedNext = await store().listNotices(institution, { limit: 1, before: '2030-01-05T00:00:00.000Z', cursor: pagedFirst.cursor });
    const empty = await store().listNotices(institution, { limit: 10, since: '2030-01-04T00:00:00.000Z', before: '2030-01-04T00:00:00.000Z' });
    // Assess
    expect(externalIds(between)).toEqual(['day-3', 'day-2']);
    expect(externalIds(before)).toEqual(['day-2', 'day-1']);
    expect([externalIds(pagedFirst), externalIds(pagedNext)]).toEqual([['day-4'], ['day-3']]);
    expect(empty.notices).toEqual([]);
  });

  it('creates a report once, however many times it is asked', async () => {
    // Prepare
    const report = make();
    // Act
    const results = await Promise.all([store().createReport(report), store().createReport(report), store().createReport(report)]);
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });
  it('refuses a cursor it did not issue with a domain error, not an answer of the API', async () => {
    // Prepare: a cursor of another shape, and one of ours cut short
    await store().createNotices([make({}, 'cursor-lister'), make({}, 'cursor-lister')]);
    const issued = (await store().listNotices('cursor-lister', { limit: 1 })).cursor as string;
    // Act
    const refusals = await Promise.all(['not-a-cursor', issued.slice(0, -3)].map((cursor) => store().listNotices('cursor-lister', { limit: 1, cursor }).catch((error: unknown) => error)));
    // Assess
    expect(issued).toEqual(expect.any(String));
    expect(refusals).toEqual([expect.any(InvalidCursorError), expect.any(InvalidCursorError)]);
  });
};

/** The IdempotencyStore contract (README: Using the API, Idempotency-Key). */
export const idempotencyStoreContract = (idempotency: () => IdempotencyStore): void => {
  const request = (overrides: Partial<IdempotencyRequest> = {}): IdempotencyRequest => ({
    institutionId: 'demo',
    key: 'night-of-2030-01-01',
    requestHash: 'hash-a',
    ids: ['A1', 'A2'],
    batch: true,
    now: new Date('2030-01-01T00:00:00Z'),
    ...overrides,
  });

  it('lets exactly one of many concurrent claims proceed', async () => {
    // Act
    const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => idempotency().claim(request({ key: 'concurrent', ids: [`X${i}`] }))));
    // Assess
    expect(claims.filter((c) => c.kind === 'proceed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'in-progress')).toHaveLength(4);
  });

  it('replays a completed claim and refuses another body', async () => {
    // Prepare
    await idempotency().claim(request({ key: 'done' }));
    await idempotency().complete(request({ key: 'done' }));
    // Act
    const replay = await idempotency().claim(request({ key: 'done', ids: ['B1'] }));
    const mismatch = await idempotency().claim(request({ key: 'done', requestHash: 'hash-b' }));
    // Assess
    expect(replay).toEqual({ kind: 'replay', ids: ['A1', 'A2'], batch: true });
    expect(mismatch).toEqual({ kind: 'mismatch' });
  });

  it('hands the key and its ids to a retry once the first request is released or its lease lapses', async () => {
    // Prepare
    await idempotency().claim(request({ key: 'crashed' }));
    await idempotency().claim(request({ key: 'released' }));
    await idempotency().release(request({ key: 'released' }));
    // Act
    const tooSoon = await idempotency().claim(request({ key: 'crashed', ids: ['C1'], now: new Date('2030-01-01T00:00:30Z') }));
    const afterLapse = await idempotency().claim(request({ key: 'crashed', ids: ['C1'], now: new Date('2030-01-01T00:01:01Z') }));
    const afterRelease = await idempotency().claim(request({ key: 'released', ids: ['C1'] }));
    // Assess
    expect(tooSoon).toEqual({ kind: 'in-progress' });
    expect(afterLapse).toEqual({ kind: 'proceed', ids: ['A1', 'A2'], takeover: true });
    expect(afterRelease).toEqual({ kind: 'proceed', ids: ['A1', 'A2'], takeover: true });
  });

  it('forgets a key after 24 hours', async () => {
    // Prepare
    await idempotency().claim(request({ key: 'old' }));
    await idempotency().complete(request({ key: 'old' }));
    // Act
    const claim = await idempotency().claim(request({ key: 'old', requestHash: 'hash-b', ids: ['D1'], now: new Date('2030-01-02T00:00:01Z') }));
    // Assess
    expect(claim).toEqual({ kind: 'proceed', ids: ['D1'], takeover: false });
  });
};

/**
 * The TransportStates contract (shared/transport/records.ts): a strongly consistent read, and a write
 * that takes effect only on the version it was planned from. Every decision on the state (the rate
 * limit, the pause and its probe, the stall) rests on that compare-and-set. Each test uses an
 * institution of its own.
 */
export const transportStateContract = (states: () => TransportStates): void => {
  const pause: Pause = {
    since: '2030-01-01T00:00:00.000Z',
    code: 'EAUTH',
    reply: '535 5.7.8 Authentication credentials invalid',
    server: 'relay.library.example.org:587',
    nextProbeAt: '2030-01-01T00:03:00.000Z',
    backoffSeconds: 180,
    probes: 0,
  };

  it('reads an institution nothing was kept for as version 0, and writes only on the version read', async () => {
    // Act
    const empty = await states().read('cas');
    const created = await states().write('cas', 0, { set: { pause, firstUnsentAt: pause.since } });
    const again = await states().write('cas', 0, { set: { firstUnsentAt: '2030-01-01T00:00:01.000Z' } });
    const probed = await states().write('cas', 1, { set: { probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } } });
    const stale = await states().write('cas', 1, { remove: ['pause'] });
    const resumed = await states().write('cas', 2, { set: { authRecoveredAt: '2030-01-01T00:03:05.000Z' }, remove: ['pause', 'probe', 'firstUnsentAt'] });
    // Assess
    expect(empty).toEqual({ version: 0 });
    expect([created, again, probed, stale, resumed]).toEqual([true, false, true, false, true]);
    expect(await states().read('cas')).toEqual({ version: 3, authRecoveredAt: '2030-01-01T00:03:05.000Z' });
  });

  it('keeps what a write names and nothing it leaves undefined, and reads back nested values whole', async () => {
    // Prepare
    const lastTestResult = { ok: false, server: 'relay.library.example.org:587', reply: '535 5.7.8 refused', servers: [{ server: 'relay.library.example.org:587', ok: false, reply: '535 5.7.8 refused' }], to: 'it@library.example.org' };
    // Act
    await states().write('whole', 0, { set: { pause, refusals: { signature: 'ERECIPIENT 550 5.1.1', recipients: ['a1', 'b2'] }, lastTestedAt: '2030-01-01T00:00:00.000Z', lastTestResult, stall: undefined } });
    await states().write('whole', 1, { set: { nextSlotAt: 1_893_456_000_000, day: '2030-01-01', dayCount: 3 } });
    // Assess
    expect(await states().read('whole')).toEqual({
      version: 2,
      pause,
      refusals: { signature: 'ERECIPIENT 550 5.1.1', recipients: ['a1', 'b2'] },
      lastTestedAt: '2030-01-01T00:00:00.000Z',
      lastTestResult,
      nextSlotAt: 1_893_456_000_000,
      day: '2030-01-01',
      dayCount: 3,
    });
  });

  it('lets one of two probes taken at once win, so one sender tries the relay', async () => {
    // Prepare
    await states().write('race', 0, { set: { pause } });
    const seen = await states().read('race');
    // Act: two senders take the probe on the state they read
    const taken = await Promise.all(['p1', 'p2'].map((token) => states().write('race', seen.version, { set: { probe: { token, until: '2030-01-01T00:04:30.000Z' } } })));
    // Assess
    expect(taken.filter(Boolean)).toHaveLength(1);
    expect((await states().read('race')).version).toBe(seen.version + 1);
  });

  it('keeps each institution apart', async () => {
    // Act
    await states().write('first', 0, { set: { pause } });
    // Assess
    expect(await states().read('second')).toEqual({ version: 0 });
  });
};
