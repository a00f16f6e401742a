// DynamoNoticeStore, DynamoIdempotencyStore, DynamoTransportState and DynamoBatchLookups with the real SDK against dynalite:
// the ports' contracts (test/support/store-contract.ts), and what only DynamoDB has: indexes, TTL, marshalling.
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { InitializeMiddleware, MetadataBearer } from '@smithy/types';
import { deliveryFailure } from '../../shared/transport/classify';
import type { LifecycleContext } from '../../shared/lifecycle/plan';
import { afterAttempt, cancel, newNotice, takeLease } from '../../shared/lifecycle/transitions';
import { DynamoIdempotencyStore } from '../../shared/store/dynamo-idempotency-store';
import { DynamoNoticeStore } from '../../shared/store/dynamo-notice-store';
import { DynamoTransportState } from '../../shared/store/dynamo-transport-state';
import { DynamoBatchLookups } from '../../shared/store/dynamo-batch-lookups';
import { DynamoSuppressionStore } from '../../shared/store/dynamo-suppression-store';
import { suppressionLookupKey } from '../../shared/store/batch-lookups';
import { DUE_SHARDS } from '../../shared/store/table';
import type { NoticeInput } from '../../shared/notice/model';
import { aNoticeInput, settingsOf } from '../support/factories';
import { startTestTable, type TestTable } from '../support/emulators';
import { idempotencyStoreContract, noticeStoreContract, transportStateContract } from '../support/store-contract';
import { documentsOf } from '../../shared/store/documents';
import { DynamoKeyRateCounter } from '../../shared/store/dynamo-key-rate';
import { deleteExpired } from '../../infra/local/expirer';

const settings = settingsOf();
let table: TestTable;
let store: DynamoNoticeStore;
let sequence = 0;

/** Ids that sort by creation, like ULIDs: a fixed prefix and a counter. */
const nextId = () => `01JB${String(sequence++).padStart(22, '0')}`;

/**
 * Records the requests a client sends while `work` runs, by command and the index each names: what a store
 * method asks of DynamoDB, whatever it returns.
 */
const recordRequests = (client: TestTable['client']) => {
  const sent: Array<{ command: string; index?: string }> = [];
  const recorder: InitializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    sent.push({ command: context.commandName as string, index: (args.input as { IndexName?: string }).IndexName });
    return next(args);
  };
  const during = async <T>(work: () => Promise<T>): Promise<T> => {
    client.middlewareStack.add(recorder, { step: 'initialize', name: 'recordForTest' });
    try {
      return await work();
    } finally {
      client.middlewareStack.remove('recordForTest');
    }
  };
  return { sent, during, commands: () => sent.map((request) => request.command) };
};

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
  describe('honours the NoticeStore contract', () => noticeStoreContract(() => store));

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
    const { sent, during: record } = recordRequests(own.client);
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

  it("reads which daily digests are made or their days marked empty in one BatchGetItem, the marker kept until its TTL", async () => {
    // Prepare: a digest made, a day marked empty, a day neither
    const own = await startTestTable();
    try {
      const ownStore = new DynamoNoticeStore({ client: own.client, tableName: own.tableName });
      const digest = make();
      const [made, empty, neither] = [digest.notice.id, nextId(), nextId()];
      await ownStore.createReport(digest);
      await ownStore.markDigestDayEmpty({ id: empty, institutionId: 'demo', date: '2030-03-16', retainUntil: '2030-04-17T14:00:00.000Z' });
      const requests = recordRequests(own.client);
      // Act
      const settled = await requests.during(() => ownStore.settledDigestDays([made, empty, neither]));
      // Assess
      expect(requests.commands()).toEqual(['BatchGetItemCommand']);
      expect(settled).toEqual({ made: new Set([made]), empty: new Set([empty]) });
      const marker = (await documentsOf(own.client).send(new GetCommand({ TableName: own.tableName, Key: { pk: `digest-empty#${empty}` } }))).Item;
      expect(marker).toEqual({ pk: `digest-empty#${empty}`, institutionId: 'demo', date: '2030-03-16', expireAt: Date.parse('2030-04-17T14:00:00.000Z') / 1000 });
      // The marker goes with the table's TTL, as local runs delete expired items.
      await deleteExpired(own.client, own.tableName, new Date('2030-04-18T00:00:00Z'));
      expect((await ownStore.settledDigestDays([empty])).empty.size).toBe(0);
    } finally {
      await own.stop();
    }
  });


});

describe('Class: DynamoIdempotencyStore', () => {
  let idempotency: DynamoIdempotencyStore;
  beforeAll(() => {
    idempotency = new DynamoIdempotencyStore({ client: table.client, tableName: table.tableName });
  });

  describe('honours the IdempotencyStore contract', () => idempotencyStoreContract(() => idempotency));
});

describe('Class: DynamoTransportState', () => {
  let states: DynamoTransportState;
  beforeAll(() => {
    states = new DynamoTransportState({ client: table.client, tableName: table.tableName });
  });

  describe('honours the TransportStates contract', () => transportStateContract(() => states));

  it('reads a state an older version kept, leaving its retired attributes alone', async () => {
    // Prepare: an item as the rate gate and its relay pauses used to write it
    await documentsOf(table.client).send(new PutCommand({ TableName: table.tableName, Item: { pk: 'transport#older', version: 4, nextSlotAt: 1_893_456_000_000, pausedUntil: 1_893_456_060_000, pauseReason: '421 from ses' } }));
    // Act
    const state = await states.read('older');
    const written = await states.write('older', 4, { set: { firstUnsentAt: '2030-01-01T00:00:00.000Z' } });
    // Assess
    expect(state).toEqual({ version: 4, nextSlotAt: 1_893_456_000_000 });
    expect(written).toBe(true);
  });
});

describe('Class: DynamoBatchLookups', () => {
  it('reads the transport states and the suppression entries in force in one request, as each store reads them', async () => {
    // Prepare: a paused institution, one with nothing kept, an entry in force and one lapsed
    const own = await startTestTable();
    try {
      const states = new DynamoTransportState({ client: own.client, tableName: own.tableName });
      const suppressions = new DynamoSuppressionStore({ client: own.client, tableName: own.tableName, random: () => 0 });
      await states.write('demo', 0, { set: { firstUnsentAt: '2030-01-01T00:00:00.000Z' } });
      await suppressions.add({ institutionId: 'demo', address: 'gone@example.org', reason: 'bounce', createdAt: '2030-01-01T00:00:00.000Z', expiresAt: '2030-06-30T00:00:00.000Z' });
      await suppressions.add({ institutionId: 'demo', address: 'lapsed@example.org', reason: 'manual', createdAt: '2029-01-01T00:00:00.000Z', expiresAt: '2029-06-30T00:00:00.000Z' });
      const lookups = new DynamoBatchLookups({ client: own.client, tableName: own.tableName, random: () => 0 });
      const requests = recordRequests(own.client);
      const now = new Date('2030-01-02T00:00:00Z');
      // Act
      const found = await requests.during(() =>
        lookups.lookup({
          institutionIds: ['demo', 'branch', 'demo'],
          addresses: ['gone@example.org', 'lapsed@example.org', 'fine@example.org'].map((address) => ({ institutionId: 'demo', address })),
          now,
        }),
      );
      // Assess
      expect(requests.commands()).toEqual(['BatchGetItemCommand']);
      expect(found.transportStates).toEqual(new Map([['demo', await states.read('demo')], ['branch', { version: 0 }]]));
      expect([...found.suppressions.keys()]).toEqual([suppressionLookupKey('demo', 'gone@example.org')]);
      expect(found.suppressions.get(suppressionLookupKey('demo', 'gone@example.org'))).toEqual((await suppressions.list('demo', { limit: 10, now })).suppressions.find((entry) => entry.address === 'gone@example.org'));
    } finally {
      await own.stop();
    }
  });
});

describe('Class: DynamoNoticeStore, content items', () => {
  const documents = () => documentsOf(table.client);
  const contentItem = async (id: string) => (await documents().send(new GetCommand({ TableName: table.tableName, Key: { pk: `content#${id}` } }))).Item;
  /** What DynamoDB bills to write `item` again, as it reports it (a unit per KB). */
  const writeUnitsOf = async (item: Record<string, unknown>) =>
    (await documents().send(new PutCommand({ TableName: table.tableName, Item: item, ReturnConsumedCapacity: 'TOTAL' }))).ConsumedCapacity?.CapacityUnits;
  /** An overdue notice as an ILS writes one: about 2 KB of text and HTML listing the same items. */
  const overdueLines = Array.from({ length: 12 }, (_, n) => `Title number ${n} of the list, due ${n + 1} March 2030, barcode 31000012${n}`);
  const ordinary = {
    text: ['Dear patron,', '', 'These items are overdue:', ...overdueLines.map((line) => `  - ${line}`), '', 'Please return or renew them.'].join('\n'),
    html: `<html><body><p>Dear patron,</p><p>These items are overdue:</p><ul>${overdueLines.map((line) => `<li>${line}</li>`).join('')}</ul><p>Please return or renew them.</p></body></html>`,
  };

  it.each<[string, Partial<NoticeInput>]>([
    ['text only', { text: ordinary.text, html: undefined }],
    ['HTML only', { text: undefined, html: ordinary.html }],
    ['text and HTML', ordinary],
    ['non-ASCII text', { text: `Cher lecteur, « ${ordinary.text} » — 借りた本の返却期限が過ぎています 📚`.repeat(2), html: '<p>Ç’est déjà dû: 返却してください</p>' }],
    ['attachments', { text: ordinary.text, attachments: [{ filename: 'fines.csv', contentType: 'text/csv', contentBase64: Buffer.from('barcode,fine\n'.repeat(200)).toString('base64') }, { filename: 'logo.png', contentType: 'image/png', contentBase64: 'iVBORw0KGgo=' }] }],
    ['a few words', { text: 'Your hold is ready.', html: undefined }],
  ])('reads back what it wrote, %s', async (_, body) => {
    // Prepare
    const made = make({ ...{ text: undefined, html: undefined }, ...body, cc: ['desk@example.org'], replyTo: 'circ@example.org' });
    // Act
    await store.createNotices([made]);
    const read = (await store.getForDelivery([made.notice.id])).get(made.notice.id);
    // Assess
    expect(read?.content).toEqual(made.content);
  });

  it('stores the text and HTML of an ordinary notice compressed, in one write unit instead of two', async () => {
    // Prepare
    const made = make(ordinary);
    // Act
    await store.createNotices([made]);
    // Assess: one Binary attribute instead of the text and the HTML; the addresses and subject as they were
    const item = (await contentItem(made.notice.id)) as Record<string, unknown>;
    expect(item).not.toHaveProperty('text');
    expect(item).not.toHaveProperty('html');
    expect(item.packed).toBeInstanceOf(Uint8Array);
    expect(item).toMatchObject({ to: made.content.to, subject: made.content.subject });
    const { packed: _packed, ...plain } = item;
    expect([await writeUnitsOf(item), await writeUnitsOf({ ...plain, text: ordinary.text, html: ordinary.html })]).toEqual([1, 2]);
  });

  it('leaves a notice of a few words as it is, where compressing would not make it smaller', async () => {
    // Prepare
    const made = make({ text: 'Your hold is ready.' });
    // Act
    await store.createNotices([made]);
    // Assess
    expect(await contentItem(made.notice.id)).toMatchObject({ text: 'Your hold is ready.' });
  });

  it('reads a content item written before contents were compressed, every field as a plain attribute', async () => {
    // Prepare: the notice's state as the store writes it, its content as the earlier version did
    const made = make({ ...ordinary, attachments: [{ filename: 'fines.csv', contentType: 'text/csv', contentBase64: Buffer.from('barcode,fine\n').toString('base64') }] });
    await store.createNotices([made]);
    await documents().send(new PutCommand({ TableName: table.tableName, Item: { ...made.content, pk: `content#${made.notice.id}`, expireAt: 1_900_000_000 } }));
    // Act
    const read = (await store.getForDelivery([made.notice.id])).get(made.notice.id);
    // Assess
    expect(read?.content).toEqual(made.content);
  });

  it('reads a return-to-sender report\'s content, its attempts packed with the text', async () => {
    // Prepare
    const original = make(ordinary);
    const report = { noticeId: original.notice.id, outcome: 'failed' as const, recipient: 'patron@example.org', subject: 'Overdue', createdAt: '2030-01-01T00:00:00.000Z', attempts: [{ at: '2030-01-01T00:01:00.000Z', outcome: 'permanent' as const, status: 'failed' as const, responseCode: 550, message: '5.1.1 no such user' }], reason: '550 5.1.1' };
    const made = make({ ...ordinary, to: 'circulation@example.org' });
    const record = { ...made, notice: { ...made.notice, kind: 'report' as const, reportFor: original.notice.id }, content: { ...made.content, report } };
    // Act
    await store.createReport(record);
    // Assess
    expect((await store.getForDelivery([record.notice.id])).get(record.notice.id)?.content).toEqual(record.content);
    expect(await contentItem(record.notice.id)).not.toHaveProperty('report');
  });
});
