// DynamoNoticeStore and DynamoTransportState with the real SDK against dynalite: keys, indexes, compare-and-set, idempotency.
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { StaleNoticeError } from '../../shared/errors';
import { deliveryFailure } from '../../shared/transport/classify';
import { afterAttempt, cancel, type LifecycleContext, newNotice, takeLease } from '../../shared/lifecycle/transitions';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
import { DynamoTransportState } from '../../shared/store/dynamo-transport-state';
import { DUE_SHARDS } from '../../shared/store/table';
import { aNoticeInput, settingsOf } from '../support/factories';
import { startTestTable, type TestTable } from '../support/emulators';
import { documentsOf } from '../../shared/store/documents';
import { DynamoKeyRateCounter } from '../../shared/store/dynamo-key-rate';
import { deleteExpired } from '../../infra/local/expirer';

const settings = settingsOf();
let table: TestTable;
let store: DynamoNoticeStore;
let sequence = 0;

/** Ids that sort by creation, like ULIDs: a fixed prefix and a counter. */
const nextId = () => `01JB${String(sequence++).padStart(22, '0')}`;

const make = (overrides: Parameters<typeof aNoticeInput>[0] = {}, institutionId = 'demo', now = new Date('2030-01-01T00:00:00Z')) =>
  newNotice(aNoticeInput(overrides), { id: nextId(), institutionId, now, random: () => 0, settings }).record;

beforeAll(async () => {
  table = await startTestTable();
  store = new DynamoNoticeStore({ client: table.client, tableName: table.tableName });
});

afterAll(async () => {
  await table.stop();
});

describe('Class: DynamoNoticeStore', () => {
  it('stores state and content as two items and reads them back', async () => {
    // Prepare
    const record = make({ attachments: [{ filename: 'fine.pdf', contentType: 'application/pdf', contentBase64: 'JVBERi0xLjQK' }] });
    // Act
    await store.createNotices([record]);
    const delivery = await store.getForDelivery([record.notice.id]);
    // Assess
    expect(await store.getNotice(record.notice.id)).toEqual(record.notice);
    expect(delivery.get(record.notice.id)).toEqual({ notice: record.notice, content: record.content });
  });

  it('writes a batch of 500 notices (1,000 items) in one call', async () => {
    // Prepare
    const records = Array.from({ length: 500 }, (_, i) => make({ externalId: `bulk-${i}` }, 'bulk'));
    // Act
    await store.createNotices(records);
    // Assess
    const found = await store.existingIds(records.map((r) => r.notice.id));
    expect(found.size).toBe(500);
  });

  it('applies a transition only on the version it was planned from', async () => {
    // Prepare
    const record = make();
    await store.createNotices([record]);
    const transition = takeLease(record.notice, new Date('2030-01-01T00:00:30Z'), 'token', settings);
    // Act
    const leased = await store.apply(transition);
    const second = store.apply(transition);
    // Assess
    expect(leased).toMatchObject({ status: 'sending', version: 2, leaseToken: 'token' });
    expect(leased.nextAttemptAt).toBeUndefined();
    await expect(second).rejects.toThrow(StaleNoticeError);
  });

  it('appends history and counts attempts', async () => {
    // Prepare
    const record = make();
    await store.createNotices([record]);
    // Act
    const after = await store.apply({
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

  it('leaves undefined fields out, whatever else shares its DynamoDB client', async () => {
    // Prepare: the other users of the client, as the handlers and npm start build them
    const record = make();
    await store.createNotices([record]);
    new DynamoKeyRateCounter({ client: table.client, tableName: table.tableName });
    await deleteExpired(table.client, table.tableName, new Date('2030-01-01T00:00:00Z'));
    // Act: SES feedback without a detail, as a DeliveryDelay event can come
    const updated = await store.apply({ id: record.notice.id, expectVersion: 1, set: {}, remove: [], appendEvents: [{ at: '2030-01-01T00:00:01Z', type: 'deliveryDelay', detail: undefined }] });
    // Assess
    expect(updated.events).toEqual([{ at: '2030-01-01T00:00:01Z', type: 'deliveryDelay' }]);
  });

  it('finds due notices from the sparse index only, and forgets them once sweepAt is removed', async () => {
    // Prepare: a fresh table so that only these notices exist
    const own = await startTestTable();
    const ownStore = new DynamoNoticeStore({ client: own.client, tableName: own.tableName });
    const due = Array.from({ length: 8 }, () => make());
    const later = make({ sendAt: '2030-02-01T00:00:00Z' });
    await ownStore.createNotices([...due, later]);
    // Every request findDue makes, by command and index
    const sent: Array<{ command: string; index?: string }> = [];
    const recorder: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
      sent.push({ command: context.commandName as string, index: (args.input as { IndexName?: string }).IndexName });
      return next(args);
    };
    const record = async <T>(work: () => Promise<T>): Promise<T> => {
      own.client.middlewareStack.add(recorder, { step: 'initialize', name: 'recordForTest' });
      try {
        return await work();
      } finally {
        own.client.middlewareStack.remove('recordForTest');
      }
    };
    // Act
    const found = await record(() => ownStore.findDue(new Date('2030-01-01T01:00:00Z'), 100));
    await ownStore.apply({ id: due[0]!.notice.id, expectVersion: 1, set: { status: 'cancelled' }, remove: ['sweepAt'] });
    const afterRemoval = await record(() => ownStore.findDue(new Date('2030-01-01T01:00:00Z'), 100));
    // Assess
    expect(found.sort()).toEqual(due.map((r) => r.notice.id).sort());
    expect(afterRemoval).toHaveLength(7);
    // One Query of the due index per shard each time; never a Scan, never another index or the table
    expect(sent).toEqual(Array(2 * DUE_SHARDS).fill({ command: 'QueryCommand', index: 'due' }));
    const items = (await documentsOf(own.client).send(new ScanCommand({ TableName: own.tableName }))).Items ?? [];
    expect(items.find((item) => item.id === due[0]!.notice.id)).not.toHaveProperty('dueAt');
    await own.stop();
  });

  it('lists newest first, filters, and pages with an opaque cursor', async () => {
    // Prepare
    const institution = 'lister';
    const records = Array.from({ length: 7 }, (_, i) => make({ type: i % 2 ? 'overdue' : 'hold-pickup', externalId: `loan-${i}` }, institution, new Date(Date.UTC(2030, 0, 1, 0, i))));
    await store.createNotices(records);
    // Act
    const first = await store.listNotices(institution, { limit: 3 });
    const second = await store.listNotices(institution, { limit: 3, cursor: first.cursor });
    const third = await store.listNotices(institution, { limit: 3, cursor: second.cursor });
    const exactlyFull = await store.listNotices(institution, { limit: 7 });
    const exactlyFullFiltered = await store.listNotices(institution, { limit: 3, type: 'overdue' });
    const overdue = await store.listNotices(institution, { limit: 10, type: 'overdue' });
    const byExternalId = await store.listNotices(institution, { limit: 10, externalId: 'loan-4' });
    const since = await store.listNotices(institution, { limit: 10, since: '2030-01-01T00:05:00.000Z' });
    // A reconciliation job that moves `since` on between pages: the cursor is past the new range.
    const sinceMovedOn = await store.listNotices(institution, { limit: 3, cursor: second.cursor, since: '2030-01-01T00:03:00.000Z' });
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
    expect((await store.listNotices('nobody', { limit: 10 })).notices).toEqual([]);
  });

  it('lists only the notices whose status is one of those asked for', async () => {
    // Prepare: a queued, a cancelled and a retrying notice of one institution, oldest first
    const institution = 'status-lister';
    const [queued, cancelled, retrying] = [0, 1, 2].map((i) => make({ externalId: `status-${i}` }, institution, new Date(Date.UTC(2030, 0, 1, 0, i)))) as [
      ReturnType<typeof make>,
      ReturnType<typeof make>,
      ReturnType<typeof make>,
    ];
    await store.createNotices([queued, cancelled, retrying]);
    await store.apply({ id: cancelled.notice.id, expectVersion: 1, set: { status: 'cancelled' }, remove: ['sweepAt'] });
    await store.apply({ id: retrying.notice.id, expectVersion: 1, set: { status: 'retrying' }, remove: [] });
    const idsOf = (page: Awaited<ReturnType<DynamoNoticeStore['listNotices']>>) => page.notices.map((n) => n.id);
    // Act
    const onlyQueued = await store.listNotices(institution, { limit: 10, status: ['queued'] });
    const onlyCancelled = await store.listNotices(institution, { limit: 10, status: ['cancelled'] });
    const queuedOrCancelled = await store.listNotices(institution, { limit: 10, status: ['queued', 'cancelled'] });
    const noneSent = await store.listNotices(institution, { limit: 10, status: ['sent'] });
    // Assess
    expect(idsOf(onlyQueued)).toEqual([queued.notice.id]);
    expect(idsOf(onlyCancelled)).toEqual([cancelled.notice.id]);
    expect(idsOf(queuedOrCancelled)).toEqual([cancelled.notice.id, queued.notice.id]);
    expect(noneSent).toEqual({ notices: [] });
  });

  it('sets the TTL of a notice to its final time plus retention.days once it is sent, failed or cancelled, and not before', async () => {
    // Prepare: three notices leased or queued; the state items as DynamoDB holds them
    const ctx: LifecycleContext = { settings, random: () => 0, newId: nextId };
    const rawState = async (id: string) => (await documentsOf(table.client).send(new GetCommand({ TableName: table.tableName, Key: { pk: `notice#${id}` } }))).Item;
    const [toSend, toFail, toCancel] = [make(), make(), make()] as [ReturnType<typeof make>, ReturnType<typeof make>, ReturnType<typeof make>];
    await store.createNotices([toSend, toFail, toCancel]);
    const leasedAt = new Date('2030-01-01T00:00:30Z');
    const finalAt = new Date('2030-01-01T00:00:41Z');
    const sending = await store.apply(takeLease(toSend.notice, leasedAt, 'token-a', settings));
    const failing = await store.apply(takeLease(toFail.notice, leasedAt, 'token-b', settings));
    const whileSending = await rawState(sending.id);
    const refusal = deliveryFailure('ERECIPIENT', '550 5.1.1 no such user', { transport: 'smtp', server: 'mail.example.org:587', responseCode: 550 });
    // Act
    await store.apply(afterAttempt(sending, { ok: true, transport: 'smtp', server: 'mail.example.org:587', messageId: '<a@example.org>', startedAt: leasedAt }, finalAt, ctx).transition);
    await store.apply(afterAttempt(failing, { ok: false, error: refusal, startedAt: leasedAt }, finalAt, ctx).transition);
    await store.apply(cancel(toCancel.notice, finalAt, settings) as NonNullable<ReturnType<typeof cancel>>);
    // Assess
    const expected = Math.floor(finalAt.getTime() / 1000) + settings.retentionDays * 86_400;
    expect(settings.retentionDays).toBe(30);
    expect((await rawState(toSend.notice.id))?.expireAt).toBe(expected);
    expect((await rawState(toFail.notice.id))?.expireAt).toBe(expected);
    expect((await rawState(toCancel.notice.id))?.expireAt).toBe(expected);
    // A notice not yet final is never deleted under the relay's feet: its state carries no TTL.
    expect(await rawState(toCancel.notice.id)).toMatchObject({ status: 'cancelled' });
    expect(whileSending).toMatchObject({ status: 'sending' });
    expect(whileSending).not.toHaveProperty('expireAt');
    expect(toSend.notice.retainUntil).toBeUndefined();
  });

  it('creates a report once, however many times it is asked', async () => {
    // Prepare
    const report = make();
    // Act
    const results = await Promise.all([store.createReport(report), store.createReport(report), store.createReport(report)]);
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  describe('Idempotency-Key', () => {
    const request = (overrides: Partial<Parameters<DynamoNoticeStore['claimIdempotencyKey']>[0]> = {}) => ({
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
      const claims = await Promise.all(Array.from({ length: 5 }, (_, i) => store.claimIdempotencyKey(request({ key: 'concurrent', ids: [`X${i}`] }))));
      // Assess
      expect(claims.filter((c) => c.kind === 'proceed')).toHaveLength(1);
      expect(claims.filter((c) => c.kind === 'in-progress')).toHaveLength(4);
    });

    it('replays a completed claim and refuses another body', async () => {
      // Prepare
      await store.claimIdempotencyKey(request({ key: 'done' }));
      await store.completeIdempotencyKey(request({ key: 'done' }));
      // Act
      const replay = await store.claimIdempotencyKey(request({ key: 'done', ids: ['B1'] }));
      const mismatch = await store.claimIdempotencyKey(request({ key: 'done', requestHash: 'hash-b' }));
      // Assess
      expect(replay).toEqual({ kind: 'replay', ids: ['A1', 'A2'], batch: true });
      expect(mismatch).toEqual({ kind: 'mismatch' });
    });

    it('hands the key and its ids to a retry once the first request is released or its lease lapses', async () => {
      // Prepare
      await store.claimIdempotencyKey(request({ key: 'crashed' }));
      await store.claimIdempotencyKey(request({ key: 'released' }));
      await store.releaseIdempotencyKey(request({ key: 'released' }));
      // Act
      const tooSoon = await store.claimIdempotencyKey(request({ key: 'crashed', ids: ['C1'], now: new Date('2030-01-01T00:00:30Z') }));
      const afterLapse = await store.claimIdempotencyKey(request({ key: 'crashed', ids: ['C1'], now: new Date('2030-01-01T00:01:01Z') }));
      const afterRelease = await store.claimIdempotencyKey(request({ key: 'released', ids: ['C1'] }));
      // Assess
      expect(tooSoon).toEqual({ kind: 'in-progress' });
      expect(afterLapse).toEqual({ kind: 'proceed', ids: ['A1', 'A2'], takeover: true });
      expect(afterRelease).toEqual({ kind: 'proceed', ids: ['A1', 'A2'], takeover: true });
    });

    it('forgets a key after 24 hours', async () => {
      // Prepare
      await store.claimIdempotencyKey(request({ key: 'old' }));
      await store.completeIdempotencyKey(request({ key: 'old' }));
      // Act
      const claim = await store.claimIdempotencyKey(request({ key: 'old', requestHash: 'hash-b', ids: ['D1'], now: new Date('2030-01-02T00:00:01Z') }));
      // Assess
      expect(claim).toEqual({ kind: 'proceed', ids: ['D1'], takeover: false });
    });
  });
});

describe('Class: DynamoTransportState', () => {
  const pause = { since: '2030-01-01T00:00:00.000Z', code: 'EAUTH', reply: '535 5.7.8 Authentication credentials invalid', server: 'relay.library.example.org:587', nextProbeAt: '2030-01-01T00:03:00.000Z', backoffSeconds: 180, probes: 0 };

  it('reads an institution nothing was kept for as version 0, and writes with a compare-and-set on the version', async () => {
    // Prepare
    const states = new DynamoTransportState({ client: table.client, tableName: table.tableName });
    // Act
    const empty = await states.read('cas');
    const created = await states.write('cas', 0, { set: { pause, firstUnsentAt: pause.since } });
    const again = await states.write('cas', 0, { set: { firstUnsentAt: '2030-01-01T00:00:01.000Z' } });
    const probed = await states.write('cas', 1, { set: { probe: { token: 'p1', until: '2030-01-01T00:04:30.000Z' } } });
    const stale = await states.write('cas', 1, { remove: ['pause'] });
    const resumed = await states.write('cas', 2, { set: { authRecoveredAt: '2030-01-01T00:03:05.000Z' }, remove: ['pause', 'probe', 'firstUnsentAt'] });
    // Assess
    expect(empty).toEqual({ version: 0 });
    expect([created, again, probed, stale, resumed]).toEqual([true, false, true, false, true]);
    expect(await states.read('cas')).toEqual({ version: 3, authRecoveredAt: '2030-01-01T00:03:05.000Z' });
  });

  it('lets one of two probes taken at once win, so one sender tries the relay', async () => {
    // Prepare
    const states = new DynamoTransportState({ client: table.client, tableName: table.tableName });
    await states.write('race', 0, { set: { pause } });
    const seen = await states.read('race');
    // Act: two senders take the probe on the state they read
    const taken = await Promise.all(['p1', 'p2'].map((token) => states.write('race', seen.version, { set: { probe: { token, until: '2030-01-01T00:04:30.000Z' } } })));
    // Assess
    expect(taken.filter(Boolean)).toHaveLength(1);
  });
});
