// DynamoNoticeStore with the real SDK against dynalite: keys, indexes, compare-and-set, idempotency.
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { DeliveryError, StaleNoticeError } from '../../shared/errors';
import { afterAttempt, cancel, type LifecycleContext, newNotice, takeLease } from '../../shared/lifecycle/transitions';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
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

  it('finds an institution\'s notices to one address in any case, newest first, from its own index', async () => {
    // Prepare: two notices to one patron (the address written two ways), one to another, one of another institution
    const institution = 'by-address';
    const at = (minute: number) => new Date(Date.UTC(2030, 0, 2, 0, minute));
    const first = make({ to: 'Reader@Example.org', externalId: 'a-1', type: 'overdue' }, institution, at(1));
    const second = make({ to: 'reader@example.org', externalId: 'a-2', type: 'hold-pickup' }, institution, at(2));
    const other = make({ to: 'someone@example.org', externalId: 'a-3' }, institution, at(3));
    const elsewhere = make({ to: 'reader@example.org', externalId: 'a-4' }, 'another-library', at(4));
    await store.createNotices([first, second, other, elsewhere]);
    const idsOf = (page: { notices: Array<{ id: string }> }) => page.notices.map((n) => n.id);
    // Act
    const all = await store.listNoticesTo(institution, 'READER@example.org', { limit: 10 });
    const paged = await store.listNoticesTo(institution, 'reader@example.org', { limit: 1 });
    const next = await store.listNoticesTo(institution, 'reader@example.org', { limit: 1, cursor: paged.cursor });
    const byType = await store.listNoticesTo(institution, 'reader@example.org', { limit: 10, type: 'overdue' });
    const byExternalId = await store.listNoticesTo(institution, 'reader@example.org', { limit: 10, externalId: 'a-2' });
    const stateItem = await documentsOf(table.client).send(new GetCommand({ TableName: table.tableName, Key: { pk: `notice#${first.notice.id}` } }));
    // Assess
    expect(idsOf(all)).toEqual([second.notice.id, first.notice.id]);
    expect([idsOf(paged), idsOf(next), next.cursor]).toEqual([[second.notice.id], [first.notice.id], undefined]);
    expect(idsOf(byType)).toEqual([first.notice.id]);
    expect(idsOf(byExternalId)).toEqual([second.notice.id]);
    // The index holds a digest of the address, not the address; the notice reads back without it.
    expect(stateItem.Item?.addrKey).toMatch(/^by-address#[0-9a-f]{64}$/);
    expect(await store.getNotice(first.notice.id)).toEqual(first.notice);
  });

  it('bounds a listing by creation time on both sides', async () => {
    // Prepare: one notice a day for five days
    const institution = 'dated';
    const records = Array.from({ length: 5 }, (_, i) => make({ externalId: `day-${i + 1}` }, institution, new Date(Date.UTC(2030, 0, i + 1, 12))));
    await store.createNotices(records);
    const externalIds = (page: { notices: Array<{ externalId?: string }> }) => page.notices.map((n) => n.externalId);
    // Act
    const between = await store.listNotices(institution, { limit: 10, since: '2030-01-02T00:00:00.000Z', before: '2030-01-04T00:00:00.000Z' });
    const before = await store.listNotices(institution, { limit: 10, before: '2030-01-03T00:00:00.000Z' });
    const pagedFirst = await store.listNotices(institution, { limit: 1, before: '2030-01-05T00:00:00.000Z' });
    const pagedNext = await store.listNotices(institution, { limit: 1, before: '2030-01-05T00:00:00.000Z', cursor: pagedFirst.cursor });
    const empty = await store.listNotices(institution, { limit: 10, since: '2030-01-04T00:00:00.000Z', before: '2030-01-04T00:00:00.000Z' });
    // Assess
    expect(externalIds(between)).toEqual(['day-3', 'day-2']);
    expect(externalIds(before)).toEqual(['day-2', 'day-1']);
    expect([externalIds(pagedFirst), externalIds(pagedNext)]).toEqual([['day-4'], ['day-3']]);
    expect(empty.notices).toEqual([]);
  });

  it('tallies the statuses of the notices accepted since a time, newest first, up to a limit', async () => {
    // Prepare
    const institution = 'tallied';
    const records = Array.from({ length: 4 }, (_, i) => make({ externalId: `t-${i}` }, institution, new Date(Date.UTC(2030, 0, 1 + i))));
    await store.createNotices(records);
    await store.apply({ id: records[3]!.notice.id, expectVersion: 1, set: { status: 'sent' }, remove: [] });
    // Act
    const all = await store.talliesSince(institution, '2030-01-02T00:00:00.000Z', 10);
    const capped = await store.talliesSince(institution, '2030-01-01T00:00:00.000Z', 2);
    // Assess
    expect(all).toEqual({
      complete: true,
      notices: [3, 2, 1].map((i) => ({ id: records[i]!.notice.id, kind: 'notice', status: i === 3 ? 'sent' : 'queued', createdAt: records[i]!.notice.createdAt })),
    });
    expect(capped.complete).toBe(false);
    expect(capped.notices.map((n) => n.id)).toEqual([records[3]!.notice.id, records[2]!.notice.id]);
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
    const refusal = new DeliveryError('550 5.1.1 no such user', 'permanent', { transport: 'smtp', server: 'mail.example.org:587', code: 'EENVELOPE', responseCode: 550 });
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
